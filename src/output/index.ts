// Public entry of the output folder: what `segment`, the server and the page write for each image
// (mask colouring and gray levels, overlays, PNG encoding, result rows and CSV).
export * from './colors.js';
export * from './masks.js';
export * from './overlay.js';
export * from './png.js';
export * from './results.js';
export * from './cell-overlay.js';
export * from './cell-crops.js';
export * from './image-outputs.js';
export * from './png-gray16.js';
