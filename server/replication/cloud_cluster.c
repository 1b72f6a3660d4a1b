/* cloud_cluster.c - Redis Cluster key placement: CRC16 hash slots, hash tags, MOVED/ASK (pure code). */
#include "server/replication/cloud_cluster.h"

#include <stdlib.h>
#include <string.h>

uint16_t cloud_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint8_t)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)(crc << 1 ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

unsigned cloud_key_slot(const char *key, size_t len)
{
    size_t s, e;
    for (s = 0; s < len; s++)
        if (key[s] == '{')
            break;
    if (s < len) {
        for (e = s + 1; e < len; e++)
            if (key[e] == '}')
                break;
        if (e < len && e != s + 1)
            return cloud_crc16(key + s + 1, e - s - 1) & (CLOUD_SLOTS - 1);
    }
    return cloud_crc16(key, len) & (CLOUD_SLOTS - 1);
}

int cloud_parse_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port)
{
    size_t colon = len;
    while (colon > 0 && s[colon - 1] != ':')
        colon--;
    if (colon == 0 || colon == len || len - colon > 5)
        return -1;
    long p = 0;
    for (size_t i = colon; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        p = p * 10 + (s[i] - '0');
    }
    if (p < 1 || p > 65535)
        return -1;
    size_t hs = 0, he = colon - 1;
    if (he >= 2 && s[0] == '[' && s[he - 1] == ']') {
        hs = 1;
        he--;
    }
    if (he == hs || he - hs >= hostlen)
        return -1;
    memcpy(host, s + hs, he - hs);
    host[he - hs] = '\0';
    *port = (int)p;
    return 0;
}

enum cloud_redirect cloud_parse_redirect(const char *err, size_t len, unsigned *slot,
                                         char *host, size_t hostlen, int *port)
{
    enum cloud_redirect kind;
    size_t i;
    if (len > 6 && memcmp(err, "MOVED ", 6) == 0) {
        kind = CLOUD_REDIR_MOVED;
        i = 6;
    } else if (len > 4 && memcmp(err, "ASK ", 4) == 0) {
        kind = CLOUD_REDIR_ASK;
        i = 4;
    } else {
        return CLOUD_REDIR_NONE;
    }
    unsigned v = 0;
    size_t d = i;
    while (i < len && err[i] >= '0' && err[i] <= '9' && v < CLOUD_SLOTS)
        v = v * 10 + (unsigned)(err[i++] - '0');
    if (i == d || i >= len || err[i] != ' ' || v >= CLOUD_SLOTS)
        return CLOUD_REDIR_NONE;
    i++;
    size_t end = i;
    while (end < len && err[end] != ' ' && err[end] != '\r' && err[end] != '\n')
        end++;
    if (cloud_parse_hostport(err + i, end - i, host, hostlen, port) != 0)
        return CLOUD_REDIR_NONE;
    *slot = v;
    return kind;
}
