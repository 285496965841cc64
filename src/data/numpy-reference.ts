// Reference values printed by numpy 2.4.6, shared by the split and dataset tests (not used at run time):
// they pin our MT19937 permutation to what the Python study and the PyTorch peer computed.

/** np.random.RandomState(42).permutation(300)[:90]: the study's test indices into the sorted ids. */
export const NUMPY_PERM300_SEED42_FIRST90: readonly number[] = [
  203, 266, 152, 9, 233, 226, 196, 109, 5, 175, 237, 57, 218, 45, 182, 221, 289, 211, 148, 165, 78, 113, 249, 250, 104,
  42, 281, 295, 157, 238, 17, 164, 33, 24, 215, 119, 7, 90, 46, 73, 93, 76, 286, 60, 77, 63, 234, 229, 111, 231, 180,
  144, 239, 75, 297, 278, 97, 92, 192, 25, 232, 59, 6, 185, 173, 30, 22, 256, 56, 186, 108, 126, 230, 193, 129, 282, 82,
  84, 66, 288, 163, 154, 19, 124, 79, 114, 118, 72, 15, 10,
];
