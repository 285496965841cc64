{
  "targets": [
    {
      "target_name": "leukoseg_onednn",
      "sources": ["onednn_conv.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fopenmp", "-march=native"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
