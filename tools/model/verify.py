#!/usr/bin/python3
"""Checks a converted ONNX model against an independent NumPy forward pass of the Keras
layers (NHWC, straight from model.json + weights.bin), and writes or checks a golden
embedding.

Usage: verify.py DUMP_DIR CUT_LAYER MODEL.onnx IMAGE GOLDEN.json [--write]
The embedding compared is the one imagesearch computes by default: global average pool of
the feature map, signed square root, L2 normalisation. Fails (exit 1) when the ONNX
output (run by OpenCV DNN, the engine the server uses) differs from NumPy by more than
1e-4, or from the committed golden embedding by more than 1e-4.
"""
import json
import sys

import cv2
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from convert import load_weights, window  # noqa: E402


def conv_nhwc(x, k, stride, pads):
    (t, b), (l, r) = pads
    x = np.pad(x, ((t, b), (l, r), (0, 0)))
    kh, kw = k.shape[:2]
    sh, sw = stride
    oh = (x.shape[0] - kh) // sh + 1
    ow = (x.shape[1] - kw) // sw + 1
    out = None
    for i in range(kh):
        for j in range(kw):
            patch = x[i:i + sh * oh:sh, j:j + sw * ow:sw, :]
            term = np.tensordot(patch, k[i, j], axes=([2], [0])) if k.ndim == 4 else patch * k[i, j]
            out = term if out is None else out + term
    return out


def pool_nhwc(x, size, stride, pads, kind):
    (t, b), (l, r) = pads
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((t, b), (l, r), (0, 0)), constant_values=fill)
    ones = np.pad(np.ones(x.shape[:2] + (1,), np.float32), ((t, b), (l, r), (0, 0)))
    kh, kw = size
    sh, sw = stride
    oh = (xp.shape[0] - kh) // sh + 1
    ow = (xp.shape[1] - kw) // sw + 1
    acc = None
    cnt = None
    for i in range(kh):
        for j in range(kw):
            patch = xp[i:i + sh * oh:sh, j:j + sw * ow:sw, :]
            c = ones[i:i + sh * oh:sh, j:j + sw * ow:sw, :]
            if kind == "max":
                acc = patch if acc is None else np.maximum(acc, patch)
            else:
                acc = patch if acc is None else acc + patch
                cnt = c if cnt is None else cnt + c
    return acc if kind == "max" else acc / cnt


def keras_forward(config, w, cut, image):
    layers = {l["name"]: l for l in config["layers"]}
    values = {}
    for layer in config["layers"]:
        name, kind, cfg = layer["name"], layer["class_name"], layer["config"]
        ins = [values[n[0]] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if kind == "InputLayer":
            out = image
        elif kind in ("Conv2D", "DepthwiseConv2D"):
            x = ins[0]
            k = w[f"{name}/depthwise_kernel"][:, :, :, 0] if kind == "DepthwiseConv2D" else w[f"{name}/kernel"]
            (t, b, l, r), _ = window(cfg, x.shape[0], x.shape[1], cfg["kernel_size"], cfg["strides"])
            out = conv_nhwc(x, k, cfg["strides"], ((t, b), (l, r)))
            if cfg.get("use_bias"):
                out = out + w[f"{name}/bias"]
        elif kind == "BatchNormalization":
            gamma = w.get(f"{name}/gamma") if cfg.get("scale", True) else 1.0
            beta = w.get(f"{name}/beta") if cfg.get("center", True) else 0.0
            out = (ins[0] - w[f"{name}/moving_mean"]) / np.sqrt(
                w[f"{name}/moving_variance"] + cfg["epsilon"]) * gamma + beta
        elif kind in ("ReLU", "Activation"):
            out = np.maximum(ins[0], 0)
            if cfg.get("max_value") is not None:
                out = np.minimum(out, cfg["max_value"])
        elif kind == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            out = np.pad(ins[0], ((t, b), (l, r), (0, 0)))
        elif kind == "Add":
            out = ins[0] + ins[1]
        elif kind == "Concatenate":
            out = np.concatenate(ins, axis=2)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            x = ins[0]
            (t, b, l, r), _ = window(cfg, x.shape[0], x.shape[1], cfg["pool_size"], cfg["strides"])
            out = pool_nhwc(x, cfg["pool_size"], cfg["strides"], ((t, b), (l, r)),
                            "max" if kind == "MaxPooling2D" else "avg")
        else:
            continue
        values[name] = out.astype(np.float32)
        if name == cut:
            return values[name]
    raise SystemExit(f"layer {cut} not reached")


def embed(feature_map_chw):
    v = feature_map_chw.reshape(feature_map_chw.shape[0], -1).mean(axis=1)
    v = np.sign(v) * np.sqrt(np.abs(v))
    return v / max(np.linalg.norm(v), 1e-12)


def main():
    args = [a for a in sys.argv[1:] if a != "--write"]
    if len(args) != 5:
        raise SystemExit(__doc__)
    dump_dir, cut, onnx_path, image_path, golden_path = args
    config, w = load_weights(dump_dir)
    first = config["layers"][0]["config"]["batch_input_shape"]
    h, wd = first[1], first[2]
    bgr = cv2.imread(image_path, cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(cv2.resize(bgr, (wd, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    x = rgb.astype(np.float32) / 255.0
    ref = keras_forward(config, w, cut, x).transpose(2, 0, 1)
    net = cv2.dnn.readNetFromONNX(onnx_path)
    net.setInput(x.transpose(2, 0, 1)[None].copy())
    got = net.forward()[0]
    diff = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-6))
    e_ref, e_got = embed(ref), embed(got)
    ediff = float(np.abs(e_ref - e_got).max())
    print(f"{onnx_path}: feature map {got.shape}, max rel diff {diff:.2e}, embedding diff {ediff:.2e}")
    if ediff > 1e-4:
        raise SystemExit("ONNX output differs from the NumPy Keras forward pass")
    if "--write" in sys.argv:
        json.dump({"image": image_path.rsplit("/", 1)[-1], "embedding": [round(float(v), 7) for v in e_got]},
                  open(golden_path, "w"))
        print(f"wrote {golden_path}")
    else:
        gold = np.array(json.load(open(golden_path))["embedding"], np.float32)
        gdiff = float(np.abs(gold - e_got).max())
        print(f"golden embedding diff {gdiff:.2e}")
        if gdiff > 1e-4:
            raise SystemExit("embedding differs from the golden embedding")


if __name__ == "__main__":
    main()
