// Public entry of the report folder: what a training run writes about itself (prediction grids,
// training curves, the static HTML run report, the cross-validation page). The images and tables
// `segment` writes for each image live in src/output/.
export * from './grid.js';
export * from './curves.js';
export * from './html.js';
export * from './cv.js';
