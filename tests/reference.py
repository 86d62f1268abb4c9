"""Independent references the tests compare the package against."""

import json


def greedy_minimum(objects, max_bytes=50_000):
    """Independent reference: grow each body while its JSON encoding fits."""
    count, size = 0, None
    for obj in objects:
        item = len(json.dumps(obj, ensure_ascii=False).encode())
        if size is not None and size + 1 + item <= max_bytes:
            size += 1 + item
        else:
            count += 1
            size = len(b'{"objects":[]}') + item
    return count
