#!/usr/bin/env python3
"""Throughput of polrec's peers on the same machine, in the same run.

Not run by CI. Needs numpy, safetensors, tokenizers, torch, transformers, onnx and
onnxruntime. Times, end to end (tokenization, length-sorted batches, encoder, mean
pooling), each with the same number of threads:

* ONNX Runtime fp32 (the model exported with torch.onnx),
* ONNX Runtime int8: the same graph dynamically quantised
  (onnxruntime.quantization.quantize_dynamic, per channel, QInt8 weights, MatMul ops),
* PyTorch fp32 (transformers BertModel + mean pooling),
* optionally `polrec bench FILE --no-split --json` (`--polrec BIN`).

MODEL is a plain Hugging Face BERT directory (config.json, tokenizer.json,
model.safetensors) or a polrec model directory, whose model.safetensors may store
large matrices as int8 `W` plus `W.scale` (one f32 per row) and the word embeddings in
4 bits (`W` u8, two codes a byte, low nibble first, with f16 `W.scale` and `W.min` per
group of 32 columns): those are dequantised, `head.*` is ignored.

Usage: peers.py MODEL SENTENCES [--runs 3] [--batch 32] [--threads 2] [--limit N]
                [--polrec target/release/polrec] [--workdir DIR]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def load_state(model_dir):
    """f32 numpy arrays of the encoder, int8 and 4-bit storage undone, head and pooler dropped."""
    import numpy as np
    from safetensors.numpy import load_file

    raw = load_file(os.path.join(model_dir, "model.safetensors"))
    state = {}
    for name, value in raw.items():
        if name.endswith((".scale", ".min")) or name.startswith("head."):
            continue
        if value.dtype == np.uint8:
            scale = raw[name + ".scale"].astype(np.float32)[:, :, None]
            low = raw[name + ".min"].astype(np.float32)[:, :, None]
            codes = np.stack([value & 0x0F, value >> 4], axis=-1)
            groups = codes.reshape(scale.shape[0], scale.shape[1], -1).astype(np.float32)
            value = (low + groups * scale).reshape(scale.shape[0], -1)
        elif value.dtype == np.int8:
            scale = raw[name + ".scale"].astype(np.float32)
            value = value.astype(np.float32) * scale[:, None]
        elif value.dtype != np.float32 and np.issubdtype(value.dtype, np.floating):
            value = value.astype(np.float32)
        if name.startswith("bert."):
            name = name[len("bert."):]
        state[name] = value
    return state


def load_torch_model(model_dir, threads):
    import torch
    from transformers import BertConfig, BertModel

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set in this process
    config = BertConfig.from_pretrained(model_dir)
    model = BertModel(config, add_pooling_layer=False)
    state = {k: torch.from_numpy(v) for k, v in load_state(model_dir).items() if v.dtype.kind == "f"}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if "position_ids" not in m]
    unexpected = [u for u in unexpected if not u.startswith("pooler.")]
    if missing or unexpected:
        sys.exit(f"{model_dir}: weights do not fit BertModel: missing {missing}, unexpected {unexpected}")
    model.eval()
    return model


def batches(tokenizer, sentences, batch):
    """Padded (ids, mask, type ids) numpy batches in length-sorted order, with the order."""
    import numpy as np

    enc = tokenizer.encode_batch(sentences)
    order = sorted(range(len(enc)), key=lambda i: len(enc[i].ids))
    out = []
    for start in range(0, len(order), batch):
        part = [enc[i].ids for i in order[start:start + batch]]
        longest = max(len(p) for p in part)
        ids = np.zeros((len(part), longest), dtype=np.int64)
        mask = np.zeros((len(part), longest), dtype=np.int64)
        for r, p in enumerate(part):
            ids[r, :len(p)] = p
            mask[r, :len(p)] = 1
        out.append((ids, mask, np.zeros_like(ids)))
    return order, out


def mean_pool(hidden, mask):
    import numpy as np

    m = mask[:, :, None].astype(np.float32)
    return (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)


def embed_with(run_batch, tokenizer, sentences, batch):
    """Embeddings of all sentences (input order) with `run_batch(ids, mask, types) -> hidden`."""
    import numpy as np

    order, bs = batches(tokenizer, sentences, batch)
    pooled = [mean_pool(run_batch(*b), b[1]) for b in bs]
    sorted_rows = np.concatenate(pooled, 0)
    out = np.empty_like(sorted_rows)
    out[np.array(order)] = sorted_rows
    return out


def export_onnx(model, path):
    import torch

    ids = torch.ones((2, 8), dtype=torch.long)
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    dyn = {0: "batch", 1: "seq"}
    kwargs = dict(
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn, "last_hidden_state": dyn},
        opset_version=17,
    )

    class Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        try:
            torch.onnx.export(Wrap(model), args, path, dynamo=False, **kwargs)
        except TypeError:
            torch.onnx.export(Wrap(model), args, path, **kwargs)


def ort_session(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}

    def run(ids, mask, types):
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return sess.run(None, {k: v for k, v in feed.items() if k in names})[0]

    return run


def timed(fn, runs):
    """Median seconds of `runs` calls after one warm-up call, and the last result."""
    result = fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, result


def polrec_bench(binary, sentences_file, threads):
    """Sentences/s from `polrec bench FILE --no-split --json`, or None with a reason."""
    cmd = [binary, "bench", sentences_file, "--no-split", "--json"]
    if threads:
        cmd += ["--threads", str(threads)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{' '.join(cmd)}: {e}"
    if p.returncode != 0 and "--threads" in cmd:
        # An older `bench` may not know --threads: try without it.
        return polrec_bench(binary, sentences_file, None)
    if p.returncode != 0:
        return None, f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-300:]}"
    for line in reversed(p.stdout.strip().splitlines()):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if isinstance(j, dict):
            v = j.get("sentences_per_sec")
            if isinstance(v, (int, float)):
                return float(v), None
    try:
        j = json.loads(p.stdout)
        return float(j["sentences_per_sec"]), None
    except (ValueError, KeyError, TypeError):
        return None, f"no sentences_per_sec in the output of {' '.join(cmd)}: {p.stdout.strip()[-300:]}"


def cosine_rows(a, b):
    import numpy as np

    n = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(n, 1e-12)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="HF BERT directory or polrec model directory")
    ap.add_argument("sentences", help="text file, one sentence a line")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per engine (median reported)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N sentences")
    ap.add_argument("--polrec", help="polrec binary: also time `polrec bench FILE --no-split --json`")
    ap.add_argument("--workdir", help="where to keep the ONNX files (default: a temporary directory)")
    ap.add_argument("--skip", default="", help="comma-separated engines to skip: ort-fp32,ort-int8,torch")
    args = ap.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from tokenizers import Tokenizer

    with open(args.sentences, encoding="utf-8") as f:
        sentences = [line.rstrip("\n") for line in f if line.strip()]
    if args.limit:
        sentences = sentences[: args.limit]
    sentences_file = args.sentences
    tmp = tempfile.TemporaryDirectory()
    work = args.workdir or tmp.name
    os.makedirs(work, exist_ok=True)
    if args.limit:
        sentences_file = os.path.join(work, "sentences.txt")
        with open(sentences_file, "w", encoding="utf-8") as f:
            f.write("\n".join(sentences) + "\n")

    tokenizer = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(512)
    tokens = sum(len(e.ids) for e in tokenizer.encode_batch(sentences))
    skip = set(filter(None, args.skip.split(",")))
    n = len(sentences)

    import torch

    model = load_torch_model(args.model, args.threads)

    def torch_batch(ids, mask, types):
        with torch.inference_mode():
            out = model(
                input_ids=torch.from_numpy(ids),
                attention_mask=torch.from_numpy(mask),
                token_type_ids=torch.from_numpy(types),
            )
        return out.last_hidden_state.numpy()

    fp32_path = os.path.join(work, "model.onnx")
    int8_path = os.path.join(work, "model-int8.onnx")
    engines = []
    if not {"ort-fp32", "ort-int8"} <= skip:
        if not os.path.exists(fp32_path):
            # Exporting traces the model and leaves it changed: export a separate copy.
            export_onnx(load_torch_model(args.model, args.threads), fp32_path)
    if "ort-fp32" not in skip:
        engines.append(("onnxruntime fp32", ort_session(fp32_path, args.threads)))
    if "ort-int8" not in skip:
        if not os.path.exists(int8_path):
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(fp32_path, int8_path, per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        engines.append(("onnxruntime int8 (dynamic)", ort_session(int8_path, args.threads)))
    if "torch" not in skip:
        engines.append(("pytorch fp32", torch_batch))

    rows = []
    reference = None
    for name, run in engines:
        med, times, emb = timed(lambda: embed_with(run, tokenizer, sentences, args.batch), args.runs)
        if reference is None and name != "onnxruntime int8 (dynamic)":
            reference = (name, emb)
        cos = cosine_rows(emb, reference[1]) if reference else None
        rows.append((name, n / med, tokens / med, med, times, None if cos is None else float(cos.min())))
        print(f"{name}: {n / med:.1f} sentences/s (median of {[round(t, 2) for t in times]} s)", file=sys.stderr)

    if args.polrec:
        runs = []
        for _ in range(args.runs):
            v, err = polrec_bench(args.polrec, sentences_file, args.threads)
            if v is None:
                print(f"polrec: skipped ({err})", file=sys.stderr)
                break
            runs.append(v)
        if runs:
            med = statistics.median(runs)
            rows.append(("polrec bench --no-split", med, med * tokens / n, n / med, [round(n / v, 2) for v in runs], None))

    print(f"\n{n} sentences, {tokens} tokens (mean {tokens / n:.1f}), batch {args.batch}, "
          f"{args.threads} threads, median of {args.runs} runs (+1 warm-up)")
    print(f"{'engine':<30} {'sentences/s':>12} {'tokens/s':>10} {'seconds':>8}  {'min cosine vs ' + (reference[0] if reference else '-'):>24}")
    for name, sps, tps, med, _, cos in rows:
        c = "" if cos is None else f"{cos:.5f}"
        print(f"{name:<30} {sps:>12.1f} {tps:>10.0f} {med:>8.2f}  {c:>24}")
    print(json.dumps({name: round(sps, 1) for name, sps, *_ in rows}))


if __name__ == "__main__":
    main()
