// The ACPI tables of a PVH guest, byte for byte as libxl 4.17 builds them (libxl__dom_load_acpi
// in libxl_x86_acpi.c driving libacpi's acpi_build_tables, with table_flags 0 and ACPI revision
// 5): FACS, DSDT, a revision-1 FADT for the RSDT, a revision-5 FADT, MADT (one local APIC per
// vCPU, APIC id 2*i, enabled for the online ones), XSDT, RSDT, the RSDP and the acpi_info page.
// They reach the guest as xc_dom_image's acpi_modules; libxenguest copies them in.
//
// The DSDT is libxl's own AML (dsdt_pvh, exported by libxenlight); without it, a DSDT with no
// AML body is used (the guest then has no ACPI processor objects: no vCPU hotplug).

export const ACPI_INFO_PHYSICAL_ADDRESS = 0xfc000000;
export const LAPIC_BASE_ADDRESS = 0xfee00000;
/** Pages libxl reserves for the tables (NUM_ACPI_PAGES). */
const NUM_ACPI_PAGES = 16;
const PAGE = 4096;

const OEM_ID = 'Xen';
const OEM_TABLE_ID = 'HVM';
const CREATOR_ID = 'HVML';

// libacpi's FADT template (static_tables.c), PM blocks at the ioreq.h V1 addresses.
const PM1A_EVT_BLK_V1 = 0xb000;
const PM1A_CNT_BLK_V1 = PM1A_EVT_BLK_V1 + 4;
const PM_TMR_BLK_V1 = PM1A_EVT_BLK_V1 + 8;
const GPE0_BLK_V1 = 0xafe0;
const GPE0_BLK_LEN_V1 = 4;
const FADT_FLAGS = (1 << 2) /* PROC_C1 */ | (1 << 0) /* WBINVD */ | (1 << 6) /* FIX_RTC */ | (1 << 8) /* TMR_VAL_EXT */ | (1 << 15); /* USE_PLATFORM_CLOCK */
const FADT_PWR_BUTTON = 1 << 4;
const FADT_SLP_BUTTON = 1 << 5;
const FADT_NO_VGA = 1 << 2;
const FADT_NO_CMOS_RTC = 1 << 5;

const SIZE = { header: 36, facs: 64, fadt10: 116, fadt: 268, madt: 44, lapic: 8, intsrcovr: 10, ioapic: 12, rsdp: 36 } as const;

export interface PvhAcpiInput {
  /** vCPUs the domain may have (Xen's max_vcpu_id + 1): one MADT entry each. */
  readonly nrVcpus: number;
  /** vCPUs online at boot (libxl's avail_vcpus): their MADT entries are enabled. */
  readonly onlineVcpus: number;
  /** The DSDT AML (libxenlight's dsdt_pvh), or undefined for an empty one. */
  readonly dsdt?: Uint8Array;
  /**
   * Where the RSDP goes: libxl puts it after the tables, except for a Linux kernel without
   * XENFEAT_linux_rsdp_unrestricted, which only finds it by the BIOS-area scan (below 1 MiB).
   */
  readonly rsdpInBiosArea: boolean;
}

export interface AcpiModule {
  readonly data: Buffer;
  readonly guestAddr: bigint;
}

export interface PvhAcpiTables {
  /** acpi_modules[0..2]: RSDP (64 bytes), acpi_info (a page), the tables (whole pages). */
  readonly modules: readonly [AcpiModule, AcpiModule, AcpiModule];
  /** Guest-physical addresses of each table, for checks and logs. */
  readonly addresses: { facs: number; dsdt: number; fadt10: number; fadt: number; madt: number; xsdt: number; rsdt: number };
}

function header(buf: Buffer, at: number, signature: string, length: number, revision: number): void {
  buf.write(signature, at, 4, 'latin1');
  buf.writeUInt32LE(length, at + 4);
  buf.writeUInt8(revision, at + 8);
  buf.write(OEM_ID, at + 10, 6, 'latin1');
  buf.write(OEM_TABLE_ID, at + 16, 8, 'latin1');
  buf.writeUInt32LE(0, at + 24);
  buf.write(CREATOR_ID, at + 28, 4, 'latin1');
  buf.writeUInt32LE(0, at + 32);
}

/** set_checksum: the byte at `offset` makes the `length` bytes from `at` sum to 0. */
function checksum(buf: Buffer, at: number, offset: number, length: number): void {
  buf[at + offset] = 0;
  let sum = 0;
  for (let i = 0; i < length; i++) sum = (sum + buf[at + i]!) & 0xff;
  buf[at + offset] = (0x100 - sum) & 0xff;
}

function gas(buf: Buffer, at: number, space: number, width: number, offset: number, address: number): void {
  buf.writeUInt8(space, at);
  buf.writeUInt8(width, at + 1);
  buf.writeUInt8(offset, at + 2);
  buf.writeBigUInt64LE(BigInt(address), at + 4);
}

/** libacpi's Fadt template into `buf` at `at` (`size` bytes of it: 116 for FADT 1.0, 268 for 5). */
function fadtTemplate(buf: Buffer, at: number, size: number, pmTimer: boolean, extraFlags: number): void {
  const f = Buffer.alloc(SIZE.fadt);
  header(f, 0, 'FACP', 0, 0);
  f.writeUInt16LE(9, 46); // sci_int
  f.writeUInt32LE(PM1A_EVT_BLK_V1, 56);
  f.writeUInt32LE(PM1A_CNT_BLK_V1, 64);
  f.writeUInt32LE(pmTimer ? PM_TMR_BLK_V1 : 0, 76);
  f.writeUInt32LE(GPE0_BLK_V1, 80);
  f.writeUInt8(4, 88); // pm1_evt_len
  f.writeUInt8(2, 89); // pm1_cnt_len
  f.writeUInt8(pmTimer ? 4 : 0, 91); // pm_tmr_len
  f.writeUInt8(GPE0_BLK_LEN_V1, 92);
  f.writeUInt16LE(0x0fff, 96); // p_lvl2_lat: no C2
  f.writeUInt16LE(0x0fff, 98); // p_lvl3_lat: no C3
  f.writeUInt32LE(FADT_FLAGS | extraFlags, 112);
  gas(f, 116, 1, 8, 0, 0xcf9); // reset_reg
  f.writeUInt8(6, 128); // reset_value
  gas(f, 148, 1, 0x20, 0, PM1A_EVT_BLK_V1); // x_pm1a_evt_blk
  gas(f, 172, 1, 0x10, 0, PM1A_CNT_BLK_V1); // x_pm1a_cnt_blk
  if (pmTimer) gas(f, 208, 1, 0x20, 0, PM_TMR_BLK_V1); // x_pm_tmr_blk
  f.copy(buf, at, 0, size);
}

/** An AML-less DSDT, for hosts without libxenlight. */
export function emptyDsdt(): Buffer {
  const d = Buffer.alloc(SIZE.header);
  header(d, 0, 'DSDT', SIZE.header, 2);
  checksum(d, 0, 9, SIZE.header);
  return d;
}

/** Builds the tables and the three acpi_modules exactly where libxl puts them. */
export function buildPvhAcpi(input: PvhAcpiInput): PvhAcpiTables {
  const nr = input.nrVcpus;
  if (!Number.isInteger(nr) || nr < 1 || nr > 128) throw new RangeError(`PVH ACPI tables: ${nr} vCPUs (1..128)`);
  const dsdt = input.dsdt ? Buffer.from(input.dsdt) : emptyDsdt();
  const start = ACPI_INFO_PHYSICAL_ADDRESS + PAGE;
  const end = start + NUM_ACPI_PAGES * PAGE;
  const buf = Buffer.alloc(NUM_ACPI_PAGES * PAGE);
  // libxl's mem_alloc, quirk included: `curr` is the last byte used, not the next free one.
  let curr = start;
  const alloc = (size: number, align: number): number => {
    const a = Math.max(align, 16);
    const s = Math.ceil(curr / a) * a;
    const e = s + size - 1;
    if (e >= end) throw new RangeError(`PVH ACPI tables do not fit in ${NUM_ACPI_PAGES} pages`);
    curr = e;
    return s;
  };
  const off = (addr: number) => addr - start;

  const facs = alloc(SIZE.facs, 64);
  buf.write('FACS', off(facs), 4, 'latin1');
  buf.writeUInt32LE(SIZE.facs, off(facs) + 4);
  buf.writeUInt8(1, off(facs) + 32); // version

  const dsdtAt = alloc(dsdt.length, 16);
  dsdt.copy(buf, off(dsdtAt));

  // FADT 1.0 for the RSDT: the template as it stands before acpi_build_tables edits it.
  const fadt10 = alloc(SIZE.fadt10, 16);
  fadtTemplate(buf, off(fadt10), SIZE.fadt10, true, 0);
  buf.writeUInt32LE(SIZE.fadt10, off(fadt10) + 4);
  buf.writeUInt8(1, off(fadt10) + 8);
  buf.writeUInt32LE(facs, off(fadt10) + 36);
  buf.writeUInt32LE(dsdtAt, off(fadt10) + 40);
  checksum(buf, off(fadt10), 9, SIZE.fadt10);

  // FADT 5: no PM timer, fixed buttons, no VGA, no CMOS RTC (table_flags 0).
  const fadt = alloc(SIZE.fadt, 16);
  const f = off(fadt);
  fadtTemplate(buf, f, SIZE.fadt, false, FADT_PWR_BUTTON | FADT_SLP_BUTTON);
  buf.writeUInt32LE(SIZE.fadt, f + 4);
  buf.writeUInt8(5, f + 8);
  buf.writeUInt32LE(facs, f + 36);
  buf.writeUInt32LE(dsdtAt, f + 40);
  buf.writeBigUInt64LE(BigInt(facs), f + 132);
  buf.writeBigUInt64LE(BigInt(dsdtAt), f + 140);
  buf.writeUInt16LE(FADT_NO_VGA | FADT_NO_CMOS_RTC, f + 109);
  checksum(buf, f, 9, SIZE.fadt);

  // MADT: allocated with room for 16 overrides and an IO-APIC, which a PVH guest does not get.
  const madt = alloc(SIZE.madt + SIZE.intsrcovr * 16 + SIZE.ioapic + SIZE.lapic * nr, 16);
  const m = off(madt);
  const madtLength = SIZE.madt + SIZE.lapic * nr;
  header(buf, m, 'APIC', madtLength, 2);
  buf.writeUInt32LE(LAPIC_BASE_ADDRESS, m + 36);
  buf.writeUInt32LE(1, m + 40); // PCAT_COMPAT
  for (let i = 0; i < nr; i++) {
    const l = m + SIZE.madt + i * SIZE.lapic;
    buf.writeUInt8(0, l); // PROCESSOR_LOCAL_APIC
    buf.writeUInt8(SIZE.lapic, l + 1);
    buf.writeUInt8(i, l + 2); // matches the DSDT's processor objects
    buf.writeUInt8(i * 2, l + 3); // libxl's acpi_lapic_id
    buf.writeUInt32LE(i < input.onlineVcpus ? 1 : 0, l + 4);
  }
  checksum(buf, m, 9, madtLength);

  const xsdt = alloc(SIZE.header + 8 + 8, 16);
  header(buf, off(xsdt), 'XSDT', SIZE.header + 16, 1);
  buf.writeBigUInt64LE(BigInt(fadt), off(xsdt) + 36);
  buf.writeBigUInt64LE(BigInt(madt), off(xsdt) + 44);
  checksum(buf, off(xsdt), 9, SIZE.header + 16);

  const rsdt = alloc(SIZE.header + 4 + 4, 16);
  header(buf, off(rsdt), 'RSDT', SIZE.header + 8, 1);
  buf.writeUInt32LE(fadt10, off(rsdt) + 36);
  buf.writeUInt32LE(madt, off(rsdt) + 40);
  checksum(buf, off(rsdt), 9, SIZE.header + 8);

  const pages = (Math.ceil(curr / PAGE) * PAGE - start) / PAGE;

  // RSDP: module 0 is 64 bytes long (libxl's length), the structure 36.
  const rsdp = Buffer.alloc(64);
  rsdp.write('RSD PTR ', 0, 8, 'latin1');
  rsdp.write(OEM_ID, 9, 6, 'latin1');
  rsdp.writeUInt8(2, 15);
  rsdp.writeUInt32LE(rsdt, 16);
  rsdp.writeUInt32LE(SIZE.rsdp, 20);
  rsdp.writeBigUInt64LE(BigInt(xsdt), 24);
  checksum(rsdp, 0, 8, 20);
  checksum(rsdp, 0, 32, SIZE.rsdp);

  // acpi_info at ACPI_INFO_PHYSICAL_ADDRESS, the BIOS region the DSDT reads.
  const info = Buffer.alloc(PAGE);
  info.writeUInt16LE(nr, 2);
  info.writeUInt32LE(madt + 9, 12); // MADT checksum byte
  info.writeUInt32LE(madt + SIZE.madt, 16); // first LAPIC entry

  const rsdpAddr = input.rsdpInBiosArea ? 0x100000 - 64 : ACPI_INFO_PHYSICAL_ADDRESS + (1 + pages) * PAGE;
  return {
    modules: [
      { data: rsdp, guestAddr: BigInt(rsdpAddr) },
      { data: info, guestAddr: BigInt(ACPI_INFO_PHYSICAL_ADDRESS) },
      { data: buf.subarray(0, pages * PAGE), guestAddr: BigInt(start) },
    ],
    addresses: { facs, dsdt: dsdtAt, fadt10, fadt, madt, xsdt, rsdt },
  };
}
