/**
 * Device tables. `device_observations`: what one batch of flows showed about each address (written
 * by the inventory operator; merged over batches at read time). `device_services`: the services a
 * device answered on, per batch (for "new service" findings). `inventory`: imported make, model,
 * version, clinical role and location, and MDS2 answers (written by `heir inventory import`).
 */
import type { RecordBatch } from 'apache-arrow';
import { arrowSchema, batchFromRows, rowsOf, type ColumnSpec, type RowOf } from '../pipeline/columns.ts';

const c = <N extends string, K extends ColumnSpec['kind'], Nl extends boolean>(name: N, kind: K, nullable: Nl, doc: string) => ({ name, kind, nullable, doc }) as const;

/** Version of the device schemas. */
export const DEVICES_SCHEMA_VERSION = 1;

/** Columns of `device_observations`. */
export const DEVICE_OBSERVATION_COLUMNS = [
  c('device_id', 'utf8', false, 'Deterministic id: 16 hex digits of SHA-1 over site and address.'),
  c('site_id', 'utf8', false, 'Site.'),
  c('batch_id', 'utf8', false, 'Batch the observation came from.'),
  c('address', 'utf8', false, 'IP address of the device.'),
  c('mac', 'utf8', true, 'MAC address where the link layer showed it.'),
  c('mac_vendor', 'utf8', true, 'Maker registered for the MAC prefix (OUI), where known.'),
  c('internal', 'bool', false, 'Whether the address is in the hospital’s internal ranges.'),
  c('first_seen', 'ts', false, 'Earliest flow start in this batch.'),
  c('last_seen', 'ts', false, 'Latest flow end in this batch.'),
  c('flows', 'i32', false, 'Flows the device took part in.'),
  c('bytes', 'f64', false, 'Bytes sent and received.'),
  c('protocols', 'utf8', false, 'Application protocols spoken, comma-separated, sorted.'),
  c('server_ports', 'utf8', false, 'Services it answered on (tcp/104, udp/53), comma-separated.'),
  c('peers', 'i32', false, 'Distinct peer addresses.'),
  c('external_peers', 'i32', false, 'Distinct peer addresses outside the internal ranges.'),
  c('hl7_sending_app', 'utf8', true, 'HL7 MSH-3 sending application(s) it sent, comma-separated.'),
  c('hl7_sending_facility', 'utf8', true, 'HL7 MSH-4 sending facility(ies).'),
  c('dicom_ae_titles', 'utf8', true, 'DICOM AE titles it used (calling) or answered to (called).'),
  c('dhcp_hostname', 'utf8', true, 'DHCP host name it announced.'),
  c('dhcp_vendor_class', 'utf8', true, 'DHCP vendor class it announced.'),
  c('http_user_agents', 'utf8', true, 'HTTP user agents it sent (newline-separated).'),
  c('http_servers', 'utf8', true, 'HTTP Server banners it answered with (newline-separated).'),
  c('tls_sni', 'utf8', true, 'TLS server names it asked for, comma-separated.'),
  c('banners', 'utf8', true, 'Service banners it answered with (newline-separated).'),
  c('dicom_impl_versions', 'utf8', true, 'DICOM implementation version names it announced (comma-separated), e.g. OFFIS_DCMTK_367.'),
  c('os', 'utf8', true, 'Operating systems it announced over SMB (newline-separated): from SMB1 Native OS / LAN Manager and the NTLMSSP version, e.g. "Windows 7 SP1 / Server 2008 R2 SP1 (NTLM 6.1.7601)", "Samba 4.17.12-Debian".'),
  c('host_names', 'utf8', true, 'Names it announced in NTLMSSP (server NetBIOS domain\\computer and DNS name, client workstation), comma-separated.'),
] as const;
export type DeviceObservationRow = RowOf<typeof DEVICE_OBSERVATION_COLUMNS>;
export const DEVICE_OBSERVATIONS_SCHEMA = arrowSchema('device_observations', DEVICES_SCHEMA_VERSION, DEVICE_OBSERVATION_COLUMNS);

/** Columns of `device_services`. */
export const DEVICE_SERVICE_COLUMNS = [
  c('device_id', 'utf8', false, 'Device id (as in device_observations).'),
  c('site_id', 'utf8', false, 'Site.'),
  c('batch_id', 'utf8', false, 'Batch.'),
  c('address', 'utf8', false, 'Device address.'),
  c('service', 'utf8', false, 'Transport and port it answered on: tcp/104.'),
  c('l7_proto', 'utf8', true, 'Application protocol seen on it.'),
  c('first_seen', 'ts', false, 'Earliest flow start in this batch.'),
  c('last_seen', 'ts', false, 'Latest flow end in this batch.'),
  c('flows', 'i32', false, 'Flows to the service in this batch.'),
] as const;
export type DeviceServiceRow = RowOf<typeof DEVICE_SERVICE_COLUMNS>;
export const DEVICE_SERVICES_SCHEMA = arrowSchema('device_services', DEVICES_SCHEMA_VERSION, DEVICE_SERVICE_COLUMNS);

/** Columns of `inventory` (imported devices). */
export const INVENTORY_COLUMNS = [
  c('asset_id', 'utf8', false, 'The inventory’s own id for the device (asset tag or serial); the address when none is given.'),
  c('site_id', 'utf8', false, 'Site.'),
  c('address', 'utf8', true, 'IP address, to merge with traffic.'),
  c('mac', 'utf8', true, 'MAC address, to merge with traffic.'),
  c('make', 'utf8', true, 'Manufacturer as written.'),
  c('vendor', 'utf8', true, 'Manufacturer normalised by the vendor table.'),
  c('model', 'utf8', true, 'Model.'),
  c('version', 'utf8', true, 'Firmware or software version.'),
  c('clinical_function', 'utf8', true, 'What it does clinically (infusion, monitoring, imaging, …).'),
  c('criticality', 'utf8', true, 'life-sustaining, therapy, diagnosis, monitoring, workflow or non-clinical.'),
  c('location', 'utf8', true, 'Ward, room or building.'),
  c('segment', 'utf8', true, 'Network segment or VLAN.'),
  c('mds2', 'utf8', true, 'MDS2 answers as a JSON object {question id: answer}.'),
  c('source_file', 'utf8', false, 'File it was imported from.'),
  c('source_line', 'i32', false, 'Line (CSV) or array index + 1 (JSON) it came from.'),
  c('imported_at', 'ts', false, 'When the import ran (the latest import of an asset wins).'),
] as const;
export type InventoryRow = RowOf<typeof INVENTORY_COLUMNS>;
export const INVENTORY_SCHEMA = arrowSchema('inventory', DEVICES_SCHEMA_VERSION, INVENTORY_COLUMNS);

/** Build batches of the device tables. */
export const deviceObservationsBatch = (rows: readonly DeviceObservationRow[]): RecordBatch => batchFromRows(DEVICE_OBSERVATIONS_SCHEMA, DEVICE_OBSERVATION_COLUMNS, rows);
export const deviceServicesBatch = (rows: readonly DeviceServiceRow[]): RecordBatch => batchFromRows(DEVICE_SERVICES_SCHEMA, DEVICE_SERVICE_COLUMNS, rows);
export const inventoryBatch = (rows: readonly InventoryRow[]): RecordBatch => batchFromRows(INVENTORY_SCHEMA, INVENTORY_COLUMNS, rows);
export const deviceObservationRows = (batch: RecordBatch): DeviceObservationRow[] => rowsOf(batch, DEVICE_OBSERVATION_COLUMNS);
export const deviceServiceRows = (batch: RecordBatch): DeviceServiceRow[] => rowsOf(batch, DEVICE_SERVICE_COLUMNS);
