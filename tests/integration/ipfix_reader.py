"""ipfix_reader.py - a small IPFIX (RFC 7011) and NetFlow v9 (RFC 3954) collector for the tests: a thread drains a
loopback UDP socket; records() decodes every data record through the templates seen before it.

A record is a dict {(enterprise, element id): value}: unsigned integers of 1, 2, 4 or 8 bytes as int, other fields as
bytes. NetFlow v9 has no enterprise numbers: an element with the high bit set (flowcached's own, README "Flow export")
is read as (32473, id & 0x7fff), so both protocols give the same keys.
"""
import socket
import struct
import threading

PEN = 32473


class Reader:
    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.1)
        self.port = self.s.getsockname()[1]
        self.messages = []
        self.running = True
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while self.running:
            try:
                self.messages.append(self.s.recv(65535))
            except socket.timeout:
                continue

    def close(self):
        self.running = False
        self.t.join()
        self.s.close()

    def records(self):
        """Every flow data record (not the options records), in arrival order."""
        templates, out = {}, []
        for m in self.messages:
            out.extend(decode_message(m, templates))
        return out


def _fields(buf, off, n, v9):
    fields = []
    for _ in range(n):
        fid, flen = struct.unpack_from("!HH", buf, off)
        off += 4
        pen = 0
        if v9 and fid & 0x8000:
            pen, fid = PEN, fid & 0x7FFF
        elif not v9 and fid & 0x8000:
            pen, = struct.unpack_from("!I", buf, off)
            fid &= 0x7FFF
            off += 4
        fields.append((pen, fid, flen))
    return fields, off


def _record(buf, off, fields):
    rec = {}
    for pen, fid, flen in fields:
        if flen == 0xFFFF:
            flen = buf[off]
            off += 1
            if flen == 255:
                flen, = struct.unpack_from("!H", buf, off)
                off += 2
        v = bytes(buf[off:off + flen])
        off += flen
        addr = not pen and fid in (8, 12)          # IPv4 addresses stay bytes
        rec[(pen, fid)] = int.from_bytes(v, "big") if flen in (1, 2, 4, 8) and not addr else v
    return rec, off


def decode_message(buf, templates):
    """The flow records of one message; templates (id -> (fields, is_options)) is updated as sets are read."""
    version, = struct.unpack_from("!H", buf, 0)
    v9 = version == 9
    off, end = (20, len(buf)) if v9 else (16, struct.unpack_from("!H", buf, 2)[0])
    tset, oset = (0, 1) if v9 else (2, 3)
    out = []
    while off + 4 <= end:
        sid, slen = struct.unpack_from("!HH", buf, off)
        body, send = off + 4, off + slen
        if slen < 4:
            break
        if sid == tset:
            while body + 4 <= send:
                tid, n = struct.unpack_from("!HH", buf, body)
                if n == 0:
                    break
                fields, body = _fields(buf, body + 4, n, v9)
                templates[tid] = (fields, False)
        elif sid == oset:
            tid, a, b = struct.unpack_from("!HHH", buf, body)
            n = (a + b) // 4 if v9 else a
            fields, body = _fields(buf, body + 6, n, v9)
            templates[tid] = (fields, True)
            body = send
        elif sid >= 256 and sid in templates:
            fields, is_options = templates[sid]
            minlen = sum(1 if f[2] == 0xFFFF else f[2] for f in fields)
            while body + minlen <= send and minlen > 0:
                rec, body = _record(buf, body, fields)
                if not is_options:
                    out.append(rec)
        off = send
    return out
