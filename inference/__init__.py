"""Inference: tokenizer, ONNX session, micro-batching, confidence buckets, attributions, export."""
