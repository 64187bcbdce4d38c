# Writes COUNT valid chunk files (SHA-256-named, SIZE bytes each) into DATA_DIR/chunks for scripts/idle-node.sh.
import os, hashlib, sys
root = sys.argv[1]; n = int(sys.argv[2]); size = int(sys.argv[3])
base = os.urandom(size)
for i in range(n):
    data = i.to_bytes(8, 'little') + base[8:]
    h = hashlib.sha256(data).hexdigest()
    d = os.path.join(root, 'chunks', h[:2], h[2:4])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, h), 'wb') as f: f.write(data)
