/**
 * Tiny SVG string builders for the report images. sharp renders SVG with librsvg, which draws
 * text with whatever fonts fontconfig finds, so every text names a list of common families
 * ending in the generic `sans-serif`.
 */

export const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

export const INK = '#222222';
export const MUTED = '#666666';
export const GRID = '#dddddd';
export const BAD = '#c62828';
export const GOOD = '#2e7d32';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface TextStyle {
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  fill?: string;
  bold?: boolean;
  /** Degrees, about (x, y). */
  rotate?: number;
}

/** A run of text with its own colour, for captions like "7 → 2". */
export interface Segment {
  text: string;
  fill?: string;
  bold?: boolean;
}

export function text(x: number, y: number, content: string | Segment[], style: TextStyle = {}): string {
  const attrs = [
    `x="${x}"`,
    `y="${y}"`,
    `font-size="${style.size ?? 13}"`,
    `fill="${style.fill ?? INK}"`,
    style.anchor && style.anchor !== 'start' ? `text-anchor="${style.anchor}"` : '',
    style.bold ? 'font-weight="bold"' : '',
    style.rotate ? `transform="rotate(${style.rotate} ${x} ${y})"` : '',
    // librsvg drops spaces at tspan edges (even no-break spaces) unless told to keep them.
    typeof content === 'string' ? '' : 'xml:space="preserve"',
  ].filter(Boolean);
  const body =
    typeof content === 'string'
      ? esc(content)
      : content
          .map(
            (s) =>
              `<tspan${s.fill ? ` fill="${s.fill}"` : ''}${s.bold ? ' font-weight="bold"' : ''}>${esc(s.text)}</tspan>`,
          )
          .join('');
  return `<text ${attrs.join(' ')}>${body}</text>`;
}

export function rect(x: number, y: number, w: number, h: number, fill: string, stroke?: string): string {
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${fill}"${stroke ? ` stroke="${stroke}" stroke-width="1"` : ''}/>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, width = 1, dash?: string): string {
  return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${stroke}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
}

/** A whole document: white background, default font for every text. */
export function svgDocument(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}">`,
    rect(0, 0, width, height, '#ffffff'),
    ...body,
    '</svg>',
  ].join('\n');
}

/** A probability as a short percentage for a caption: 0.934 → "93%", 0.9987 → "99.8%". */
export function shortPct(p: number): string {
  if (p >= 0.995) return `${(Math.floor(p * 1000) / 10).toFixed(1)}%`;
  return `${Math.round(p * 100)}%`;
}
