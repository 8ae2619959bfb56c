"""Write the seed corpus of fuzz_es_reply: each bulk reply of the
fixtures, and a few hand-written ones, prefixed with its item count."""

import glob
import json
import os
import sys

HAND_WRITTEN = [
    (3, b'{"errors":true,"items":[{"create":{"status":201}},'
        b'{"create":{"status":429,"error":{"type":'
        b'"es_rejected_execution_exception","reason":"r"}}},'
        b'{"create":{"status":409}}]}'),
    (2, b'{"items":[{"index":{"_index":"a","_id":"1-2","status":200,'
        b'"result":"created"}},{"delete":{"status":404,'
        b'"result":"not_found"}}]}'),
    (2, b'{"took":1,"errors":false,"items":[{"create":{"status":400,'
        b'"error":{"type":"mapper_parsing_exception","reason":'
        b'"caf\\u00e9 \\ud83d\\ude00 \\"x\\"","caused_by":{"type":"t",'
        b'"reason":"c"}}}},{"create":{"error":'
        b'"DocumentAlreadyExistsException[[x][0] [t][1]: exists]"}}]}'),
]


def main(out_dir):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "fixtures", "elasticsearch-bulk", "responses")
    seeds = []
    for path in sorted(glob.glob(os.path.join(root, "*", "*.json"))):
        with open(path, "rb") as f:
            body = f.read()
        seeds.append((len(json.loads(body)["items"]), body))
    seeds.extend(HAND_WRITTEN)
    os.makedirs(out_dir, exist_ok=True)
    for i, (count, body) in enumerate(seeds):
        with open(os.path.join(out_dir, "seed%d" % i), "wb") as f:
            f.write(bytes([count % 16]) + body)
    print("%d seeds written to %s" % (len(seeds), out_dir))


if __name__ == "__main__":
    main(sys.argv[1])
