// proc.mjs: what the tests read from the kernel (/proc) about processes and TCP connections on
// 127.0.0.1, once for every suite: whether a process still runs, the TCP states on a port, the
// server side of one connection, and which process holds a socket.

import fs from 'node:fs';

/** 1 while `pid` runs: not gone and not a zombie waiting to be reaped. */
export function alive(pid) {
  try { return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

const hex = (port) => port.toString(16).toUpperCase().padStart(4, '0');
const STATE_NAMES = { '01': 'ESTABLISHED', '06': 'TIME_WAIT', '08': 'CLOSE_WAIT', '0A': 'LISTEN' };
export const ESTABLISHED = '01';

function tcpLines(files = ['/proc/net/tcp', '/proc/net/tcp6']) {
  const out = [];
  for (const file of files) {
    let text = '';
    try { text = fs.readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 10) out.push(f);
    }
  }
  return out;
}

/** Server-side TCP states for a local port, counted by name: { ESTABLISHED: 3, LISTEN: 1, ... }. */
export function tcpStates(port) {
  const states = {};
  for (const f of tcpLines()) {
    if (!f[1].endsWith(`:${hex(port)}`)) continue;
    const name = STATE_NAMES[f[3]] || f[3];
    states[name] = (states[name] || 0) + 1;
  }
  return states;
}

/** The server side of 127.0.0.1:serverPort <- 127.0.0.1:clientPort: { state, txQueue, inode },
 *  or null once the kernel has forgotten it. */
export function serverSide(serverPort, clientPort) {
  const local = `0100007F:${hex(serverPort)}`;
  const remote = `0100007F:${hex(clientPort)}`;
  for (const f of tcpLines(['/proc/net/tcp'])) {
    if (f[1] === local && f[2] === remote) {
      return { state: f[3], txQueue: parseInt(f[4].split(':')[0], 16), inode: f[9] };
    }
  }
  return null;
}

/** Which of `pids` holds the socket with this inode, or null. */
export function socketHolder(inode, pids) {
  for (const pid of pids) {
    let fds = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      try { if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid; } catch { /* closed meanwhile */ }
    }
  }
  return null;
}
