{
  "targets": [
    {
      "target_name": "leukoseg_onednn",
      "sources": ["onednn_conv.cc"],
      "cflags_cc": ["-O2", "-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldnnl"]
    }
  ]
}
