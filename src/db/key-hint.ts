/** How an access key id may be shown: its first and last four characters (`AKIA…MPLE`), never all of it. */
export function accessKeyIdHint(accessKeyId: string): string {
  return accessKeyId.length <= 8 ? `${accessKeyId.slice(0, 2)}…` : `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}
