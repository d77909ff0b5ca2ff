"""Inference: frames in, tracks out. The runner (OnlineTracker) drives an engine (engines/: lean PyTorch,
ONNX Runtime), the decoder and a tracker over frame sources; detect writes the offline pass as a
detection cache; speed, video and draw time and show the result. `settings.InferenceSettings` is
built once from params. Nothing is imported here, so reading the settings needs no torch."""
