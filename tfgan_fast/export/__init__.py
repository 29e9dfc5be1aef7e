"""A trained generator outside training: the SavedModel for TF Serving (`saved_model`), ONNX and
LiteRT (`formats`), TF Serving request helpers (`serving`) and a local explorer page
(`explorer`, `explorer.html`)."""
