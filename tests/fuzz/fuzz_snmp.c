/* fuzz_snmp.c - libFuzzer target for dissectors/snmp.c: bounds, printable output, bytes after the message ignored (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/snmp.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct snmp_msg m, m2;
    int rc = snmp_parse(data, size, &m);
    if (rc == DISSECT_MALFORMED)
        return 0;
    if (rc != DISSECT_OK)
        abort();
    if (!fuzz_text_ok(m.community, sizeof(m.community)) || !fuzz_text_ok(m.oid, sizeof(m.oid)) ||
        m.msg_len > size || m.msg_len < 2 || (m.version != 0 && m.version != 1 && m.version != 3) ||
        (m.encrypted ? m.pdu_type != SNMP_PDU_NONE || m.has_request_id : m.pdu_type > SNMP_PDU_REPORT) ||
        m.has_request_id != (!m.encrypted && m.pdu_type != SNMP_PDU_TRAP) ||
        m.varbinds > size / 4 || !snmp_pdu_name(m.pdu_type) || !snmp_error_name(m.error_status))
        abort();
    /* the message alone parses the same: bytes after it are ignored */
    if (snmp_parse(data, m.msg_len, &m2) != DISSECT_OK || memcmp(&m, &m2, sizeof(m)) != 0)
        abort();
    return 0;
}
