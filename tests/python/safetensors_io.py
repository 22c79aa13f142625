"""Writes the safetensors format by hand (8-byte little-endian header length, JSON header, raw little-endian bytes), so
the tests need no safetensors package and check ModelGen's reader against the format itself, not against one library."""
import json
import struct

import torch

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}


def tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous().cpu()
    # Reinterpret as bytes through a uint8 view: works for every dtype, bfloat16 included (numpy has no bfloat16).
    return t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() > 0 else b""


def save(path: str, tensors: dict, metadata: dict | None = None) -> None:
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load(path: str) -> dict:
    """Reads a safetensors file (the inverse of save), for converting test checkpoints to torch.save files."""
    inverse = {v: k for k, v in DTYPES.items()}
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.uint8) if end > begin else torch.empty(0, dtype=torch.uint8)
        out[name] = raw.view(inverse[entry["dtype"]]).reshape(entry["shape"])
    return out


if __name__ == "__main__":
    # python3 safetensors_io.py IN.safetensors OUT.pt: the same tensors through torch.save.
    import sys
    torch.save(load(sys.argv[1]), sys.argv[2])
