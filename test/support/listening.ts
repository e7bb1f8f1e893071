// Which addresses a TCP port listens on, read from the kernel's socket table
// of a process's network namespace (/proc/<pid>/net/tcp and tcp6: what
// `ss -ltn` shows when run inside that namespace).
import { readFileSync } from 'node:fs';

const LISTEN = '0A';

/** "0100007F" (little-endian words, as /proc prints them) -> "127.0.0.1"; 32 hex digits -> an IPv6 address. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** Addresses on which `port` is in LISTEN state, in the network namespace of process `pid`. */
export function listeningAddresses(pid: number, port: number): string[] {
  const addresses: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const lines = readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, portHex] = (local ?? '').split(':');
      if (state === LISTEN && address && portHex && parseInt(portHex, 16) === port) addresses.push(decodeAddress(address));
    }
  }
  return addresses;
}
