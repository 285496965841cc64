{
  "targets": [
    {
      "target_name": "leukoseg_onednn",
      "sources": ["addon.cc", "common.cc", "conv.cc", "elementwise.cc", "batch_norm.cc", "head.cc", "adam.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fopenmp"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldnnl", "-fopenmp"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags_cc": ["-march=x86-64-v2", "-mtune=generic"]
        }]
      ]
    }
  ]
}
