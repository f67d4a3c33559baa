#!/usr/bin/python3
"""Converts the leading layers of a TF.js Keras layers model to ONNX (opset 10, NCHW;
OpenCV 4.6 DNN reads Clip and Pad only in their attribute forms).

Usage: convert.py DUMP_DIR CUT_LAYER OUT.onnx
  DUMP_DIR holds model.json + weights.bin written by dump_tfjs.js.
  CUT_LAYER is the Keras layer whose output (a feature map) becomes the graph output
  "features" of shape [1, C, h, w]. Input "input" is [1, 3, H, W], RGB scaled to 0..1.

Weights are dequantised (w = q * scale + min), BatchNormalization is folded into the
preceding convolution, Keras "same" padding becomes explicit (possibly uneven) pads, and
every value gets a static shape so the ONNX checker accepts the graph.
"""
import json
import math
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float32": np.float32, "int32": np.int32}


def load_weights(dump_dir):
    model = json.load(open(f"{dump_dir}/model.json"))
    raw = open(f"{dump_dir}/weights.bin", "rb").read()
    weights, offset = {}, 0
    for group in model["weightsManifest"]:
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            dtype = np.dtype(DTYPES[q["dtype"] if q else w["dtype"]])
            data = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
            offset += count * dtype.itemsize
            if q:
                data = data.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
            weights[w["name"]] = data.astype(np.float32).reshape(w["shape"])
    if offset != len(raw):
        raise SystemExit(f"weights.bin has {len(raw)} bytes, manifest describes {offset}")
    return model["modelTopology"]["model_config"]["config"], weights


def same_pads(size, k, s):
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


def window(cfg, h, w, kernel, strides):
    """Keras padding of a conv/pool window: ((top, bottom, left, right), (out_h, out_w)).
    "same" pads like TensorFlow (the extra cell goes after); "valid" pads nothing."""
    (kh, kw), (sh, sw) = kernel, strides
    if cfg["padding"] == "same":
        t, b, oh = same_pads(h, kh, sh)
        l, r, ow = same_pads(w, kw, sw)
        return (t, b, l, r), (oh, ow)
    return (0, 0, 0, 0), ((h - kh) // sh + 1, (w - kw) // sw + 1)


class Converter:
    def __init__(self, config, weights):
        self.layers = {l["name"]: l for l in config["layers"]}
        self.order = [l["name"] for l in config["layers"]]
        self.w = weights
        self.nodes, self.inits, self.shapes = [], [], {}  # shapes: name -> (C, H, W)

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def inputs_of(self, layer):
        nodes = layer["inbound_nodes"]
        return [n[0] for n in nodes[0]] if nodes else []

    def ancestors(self, cut):
        need, stack = set(), [cut]
        while stack:
            n = stack.pop()
            if n in need:
                continue
            need.add(n)
            stack.extend(self.inputs_of(self.layers[n]))
        return need

    def bn_after(self, name, need):
        """The BatchNormalization layer that is the only consumer of `name`, if any."""
        users = [n for n in self.order if n in need and name in self.inputs_of(self.layers[n])]
        if len(users) == 1 and self.layers[users[0]]["class_name"] == "BatchNormalization":
            return users[0]
        return None

    def conv(self, layer, x, need):
        cfg, name = layer["config"], layer["name"]
        c, h, w = self.shapes[x]
        kh, kw = cfg["kernel_size"]
        sh, sw = cfg["strides"]
        if cfg.get("dilation_rate", [1, 1]) != [1, 1]:
            raise SystemExit(f"{name}: dilation not supported")
        depthwise = layer["class_name"] == "DepthwiseConv2D"
        if depthwise:
            k = self.w[f"{name}/depthwise_kernel"]  # kh, kw, cin, mult
            mult = k.shape[3]
            kernel = k.transpose(2, 3, 0, 1).reshape(c * mult, 1, kh, kw)
            group, cout = c, c * mult
        else:
            k = self.w[f"{name}/kernel"]  # kh, kw, cin, cout
            kernel = k.transpose(3, 2, 0, 1)
            group, cout = 1, k.shape[3]
        bias = self.w.get(f"{name}/bias", np.zeros(cout, np.float32)) if cfg.get(
            "use_bias") else np.zeros(cout, np.float32)
        out_name = name
        bn = self.bn_after(name, need)
        if bn is not None:  # fold y = gamma * (conv - mean) / sqrt(var + eps) + beta
            bcfg = self.layers[bn]["config"]
            gamma = self.w.get(f"{bn}/gamma") if bcfg.get("scale", True) else None
            gamma = gamma if gamma is not None else np.ones(cout, np.float32)
            beta = self.w.get(f"{bn}/beta") if bcfg.get("center", True) else None
            beta = beta if beta is not None else np.zeros(cout, np.float32)
            mean, var = self.w[f"{bn}/moving_mean"], self.w[f"{bn}/moving_variance"]
            factor = gamma / np.sqrt(var + np.float32(bcfg["epsilon"]))
            kernel = kernel * factor.reshape(-1, 1, 1, 1)
            bias = (bias - mean) * factor + beta
            out_name = bn
        (t, b, l, r), (oh, ow) = window(cfg, h, w, (kh, kw), (sh, sw))
        self.nodes.append(helper.make_node(
            "Conv", [x, self.init(f"{name}/W", kernel.astype(np.float32)),
                     self.init(f"{name}/B", bias.astype(np.float32))], [out_name],
            name=name, kernel_shape=[kh, kw], strides=[sh, sw], pads=[t, l, b, r], group=group))
        self.shapes[out_name] = (cout, oh, ow)
        act = cfg.get("activation", "linear")
        if act not in ("linear", None):
            raise SystemExit(f"{name}: fused activation {act} not supported")
        return out_name

    def convert(self, cut, input_hw):
        need = self.ancestors(cut)
        alias = {}  # keras layer name -> onnx value name
        h, w = input_hw
        for name in self.order:
            if name not in need:
                continue
            layer = self.layers[name]
            kind, cfg = layer["class_name"], layer["config"]
            ins = [alias[i] for i in self.inputs_of(layer)]
            if kind == "InputLayer":
                alias[name] = "input"
                self.shapes["input"] = (3, h, w)
            elif kind in ("Conv2D", "DepthwiseConv2D"):
                alias[name] = self.conv(layer, ins[0], need)
            elif kind == "BatchNormalization":
                folded = self.inputs_of(layer)[0]
                if alias[folded] != name:
                    raise SystemExit(f"{name}: BatchNormalization not after a convolution")
                alias[name] = name
            elif kind == "ReLU" or (kind == "Activation" and cfg["activation"] == "relu"):
                max_value = cfg.get("max_value")
                if max_value is not None:
                    self.nodes.append(helper.make_node(
                        "Clip", ins, [name], name=name, min=0.0, max=float(max_value)))
                else:
                    self.nodes.append(helper.make_node("Relu", ins, [name], name=name))
                self.shapes[name] = self.shapes[ins[0]]
                alias[name] = name
            elif kind == "ZeroPadding2D":
                (t, b), (l, r) = cfg["padding"]
                c, hh, ww = self.shapes[ins[0]]
                self.nodes.append(helper.make_node(
                    "Pad", ins, [name], name=name, mode="constant", pads=[0, 0, t, l, 0, 0, b, r]))
                self.shapes[name] = (c, hh + t + b, ww + l + r)
                alias[name] = name
            elif kind == "Add":
                self.nodes.append(helper.make_node("Add", ins, [name], name=name))
                self.shapes[name] = self.shapes[ins[0]]
                alias[name] = name
            elif kind == "Concatenate":
                if cfg["axis"] not in (3, -1):
                    raise SystemExit(f"{name}: concat axis {cfg['axis']}")
                self.nodes.append(helper.make_node("Concat", ins, [name], name=name, axis=1))
                c = sum(self.shapes[i][0] for i in ins)
                self.shapes[name] = (c,) + self.shapes[ins[0]][1:]
                alias[name] = name
            elif kind in ("MaxPooling2D", "AveragePooling2D"):
                c, hh, ww = self.shapes[ins[0]]
                kh, kw = cfg["pool_size"]
                sh, sw = cfg["strides"]
                (t, b, l, r), (oh, ow) = window(cfg, hh, ww, (kh, kw), (sh, sw))
                op = "MaxPool" if kind == "MaxPooling2D" else "AveragePool"
                attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], pads=[t, l, b, r])
                if op == "AveragePool":
                    attrs["count_include_pad"] = 0  # Keras averages over valid cells only
                self.nodes.append(helper.make_node(op, ins, [name], name=name, **attrs))
                self.shapes[name] = (c, oh, ow)
                alias[name] = name
            else:
                raise SystemExit(f"{name}: layer type {kind} not supported")
        out = alias[cut]
        self.nodes.append(helper.make_node("Identity", [out], ["features"], name="features"))
        c, oh, ow = self.shapes[out]
        graph = helper.make_graph(
            self.nodes, "features",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])],
            [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, c, oh, ow])],
            self.inits)
        model = helper.make_model(graph, producer_name="imagesearch tools/model/convert.py",
                                  opset_imports=[helper.make_opsetid("", 10)])
        model.ir_version = 7
        onnx.checker.check_model(model)
        return model, (c, oh, ow)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    dump_dir, cut, out = sys.argv[1:]
    config, weights = load_weights(dump_dir)
    first = config["layers"][0]["config"]["batch_input_shape"]
    conv = Converter(config, weights)
    if cut not in conv.layers:
        raise SystemExit(f"no layer named {cut}")
    model, shape = conv.convert(cut, (first[1], first[2]))
    onnx.save(model, out)
    print(f"{out}: input [1,3,{first[1]},{first[2]}] -> features [1,{shape[0]},{shape[1]},{shape[2]}]")


if __name__ == "__main__":
    main()
