// Public entry of the report folder: mask colouring, PNG encoding, prediction grids, training
// curves and the static HTML run report.
export * from './colors.js';
export * from './masks.js';
export * from './png.js';
export * from './grid.js';
export * from './curves.js';
export * from './html.js';
