#!/usr/bin/python3
"""gen_cmd_meta.py - writes server/commands/cmd_meta.c: for every command of flowcached's table (server/commands/commands.c), the
COMMAND INFO entry and COMMAND DOCS value a real redis-server 7.0 answers in RESP3, and for every container (CLIENT,
CONFIG...) its HELP reply, as C byte strings, so COMMAND replies (flags, key specs, ACL categories, docs) and HELP
texts are Redis's own. Run: tools/gen_cmd_meta.py [port-of-redis-7.0]
(without a port it starts /usr/bin/redis-server on a free port of 127.0.0.1 and stops it)."""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_reply(sock, buf):
    """Returns (raw bytes of one reply, rest of buf)."""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk

    def line(pos):
        while True:
            i = buf.find(b"\r\n", pos)
            if i >= 0:
                return buf[pos:i], i + 2
            need(len(buf) + 1)

    def parse(pos):
        need(pos + 1)
        t = chr(buf[pos])
        ln, nxt = line(pos + 1)
        if t in "$=" and int(ln) >= 0:
            need(nxt + int(ln) + 2)
            return nxt + int(ln) + 2
        if t in "*~%>" and int(ln) >= 0:
            for _ in range(int(ln) * (2 if t == "%" else 1)):
                nxt = parse(nxt)
        return nxt

    end = parse(0)
    return buf[:end], buf[end:]


def call(sock, buf, *args):
    out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args))
    sock.sendall(out)
    return read_reply(sock, buf)


def c_literal(data):
    out, line = [], ""
    for b in data:
        ch = chr(b)
        if ch == "\r":
            line += "\\r"
        elif ch == "\n":
            line += "\\n"
            out.append(line)
            line = ""
            continue
        elif ch in "\"\\?" or b < 32 or b > 126:
            line += "\\%03o" % b
        else:
            line += ch
    if line:
        out.append(line)
    return "\n".join('        "%s"' % l for l in out) if out else '        ""'


def skip_header(raw, n):
    """Drops the first n RESP header lines (e.g. "*1" or "%1" and the name's two lines)."""
    for _ in range(n):
        raw = raw[raw.index(b"\r\n") + 2:]
    return raw


def tree(raw, pos=0):
    """One RESP3 value of raw at pos as (header line, children or None, end): aggregates keep their children,
    scalars their whole bytes in the header."""
    eol = raw.index(b"\r\n", pos)
    t, n = raw[pos:pos + 1], raw[pos + 1:eol]
    nxt = eol + 2
    if t in b"$=" and int(n) >= 0:
        end = nxt + int(n) + 2
        return raw[pos:end], None, end
    if t in b"*~%>" and int(n) >= 0:
        kids = []
        for _ in range(int(n) * (2 if t == b"%" else 1)):
            k = tree(raw, nxt)
            kids.append(k)
            nxt = k[2]
        return raw[pos:eol + 2], kids, nxt
    return raw[pos:nxt], None, nxt


def flat(node):
    head, kids, _ = node
    return head + b"".join(flat(k) for k in kids) if kids is not None else head


def name_of(node):
    """The text of a bulk string node."""
    return flat(node).split(b"\r\n")[1]


def sorted_subcommands(raw, docs):
    """Redis lists a container's subcommands in its dict's per-process order: sort them by name, so that the
    generated file changes only when Redis' answers do (COMMAND INFO's 10th element; DOCS' "subcommands" map)."""
    head, kids, end = tree(raw)
    if not docs and len(kids) == 10 and kids[9][1]:
        kids[9] = (kids[9][0], sorted(kids[9][1], key=lambda e: name_of(e[1][0])), None)
    if docs:
        for i in range(0, len(kids) - 1, 2):
            if flat(kids[i]).endswith(b"\r\nsubcommands\r\n") and kids[i + 1][1]:
                pairs = [(kids[i + 1][1][j], kids[i + 1][1][j + 1]) for j in range(0, len(kids[i + 1][1]), 2)]
                pairs.sort(key=lambda kv: name_of(kv[0]))
                kids[i + 1] = (kids[i + 1][0], [x for kv in pairs for x in kv], None)
    return flat((head, kids, end))


def main():
    src = open(os.path.join(ROOT, "server", "commands", "commands.c")).read()
    body = src[src.index("static const struct command table[]"):]
    body = body[:body.index("};")]
    names = re.findall(r'\{ "([a-z-]+)",', body)
    containers = set(re.findall(r'\{ "([a-z-]+)",[^}]*SUBS\(', body))
    proc = None
    if len(sys.argv) > 1:
        port = int(sys.argv[1])
    else:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        d = tempfile.mkdtemp()
        proc = subprocess.Popen(["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--dir", d], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        buf = b""
        _, buf = call(sock, buf, "HELLO", "3")
        entries = []
        for n in names:
            info, buf = call(sock, buf, "COMMAND", "INFO", n)
            docs, buf = call(sock, buf, "COMMAND", "DOCS", n)
            if info.startswith(b"*1\r\n_") or docs == b"%0\r\n":
                continue
            helptext = None
            if n in containers:
                reply, buf = call(sock, buf, n.upper(), "HELP")
                helptext = reply if reply.startswith(b"*") else None   # CLUSTER HELP: an error here
            info, docs = sorted_subcommands(skip_header(info, 1), False), sorted_subcommands(skip_header(docs, 3), True)
            entries.append((n, info, docs, helptext))
    finally:
        if proc:
            proc.terminate()
            proc.wait()
    out = ["/* cmd_meta.c - GENERATED by tools/gen_cmd_meta.py from redis-server 7.0 (do not edit): COMMAND INFO and",
           " * COMMAND DOCS replies, in RESP3, of the commands in flowcached's table, and the HELP replies of its containers",
           " * (read-only data, any thread). */",
           "#include <string.h>", "", '#include "server/commands/cmd_internal.h"', "",
           "static const struct cmd_meta metas[] = {"]
    for n, info, docs, helptext in entries:
        out.append('    { "%s",' % n)
        out.append(c_literal(info) + ",")
        out.append("        %d," % len(info))
        out.append(c_literal(docs) + ",")
        if helptext:
            out.append("        %d," % len(docs))
            out.append(c_literal(helptext) + ",")
            out.append("        %d }," % len(helptext))
        else:
            out.append("        %d, NULL, 0 }," % len(docs))
    out += ["};", "",
            "const struct cmd_meta *cmd_meta_find(const char *name)",
            "{",
            "    for (size_t i = 0; i < sizeof(metas) / sizeof(metas[0]); i++)",
            "        if (!strcmp(metas[i].name, name))",
            "            return &metas[i];",
            "    return NULL;",
            "}", ""]
    with open(os.path.join(ROOT, "server", "commands", "cmd_meta.c"), "w") as f:
        f.write("\n".join(out))
    print("server/commands/cmd_meta.c: %d commands" % len(entries))


if __name__ == "__main__":
    main()
