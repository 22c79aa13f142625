"""PyTorch checkpoints in the shapes a reader meets, for ModelGen's .pt/.bin reader tests.

Usage: python3 torch_checkpoints.py OUTPUT_DIR

  dtypes.pt       one tensor per dtype (float64 … bool), values 0, 1, 2, … (booleans alternate), a 0-d scalar, an empty tensor
  views.pt        a transposed view, a slice at a storage offset, and two names sharing one storage (tied weights)
  nested.pt       {"model": state_dict, "step": 7}: a training checkpoint
  legacy.pt       the pre-1.6 non-zip format
  not_a_dict.pt   a list of tensors, not a state_dict
"""
import os
import sys

import torch


def main(out):
    os.makedirs(out, exist_ok=True)
    dtypes = {}
    for dt in (torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        dtypes[str(dt).replace("torch.", "")] = torch.arange(12, dtype=torch.float64).to(dt).view(3, 4)
    dtypes["bool"] = (torch.arange(6) % 2 == 0).view(2, 3)
    dtypes["scalar"] = torch.tensor(3.5)
    dtypes["empty"] = torch.zeros(0, 5)
    torch.save(dtypes, os.path.join(out, "dtypes.pt"))

    base = torch.arange(20, dtype=torch.float32).view(4, 5)
    views = {"transposed": base.t(), "slice": base[2:, 1:4], "tied_a": base, "tied_b": base}
    torch.save(views, os.path.join(out, "views.pt"))

    torch.save({"model": {"w": torch.ones(2, 2)}, "step": 7}, os.path.join(out, "nested.pt"))
    torch.save({"w": torch.ones(2, 2)}, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save([torch.ones(2)], os.path.join(out, "not_a_dict.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
