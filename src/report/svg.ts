// Small helpers for the SVG overlays that sharp renders (through librsvg): XML escaping and
// the font stack, which must name a font installed on the machine (DejaVu on Debian).

export const FONT_SANS = "'DejaVu Sans', Arial, Helvetica, sans-serif";
export const FONT_MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace";
/** Advance width of one DejaVu Sans Mono character, as a fraction of the font size. */
export const MONO_CHAR_WIDTH = 0.602;

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Shortens text to at most maxChars characters, marking the cut with an ellipsis. */
export function truncate(text: string, maxChars: number): string {
  const chars = Array.from(text); // by code point, so a cut never splits a surrogate pair
  return chars.length <= maxChars ? text : chars.slice(0, Math.max(1, maxChars - 1)).join('') + '…';
}
