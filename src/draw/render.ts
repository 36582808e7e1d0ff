/**
 * SVG → PNG with sharp (librsvg), plus a check that this machine has a font to draw text with:
 * without one, every caption and number in the charts comes out as blank boxes.
 */
import { importOptional } from '../node/optional.js';
import { svgDocument, text } from './svg.js';

// Loaded when something is drawn (exit 4 saying how to install it when it cannot load).
const loadSharp = async () => (await importOptional<typeof import('sharp')>('sharp')).default;

const WHITE = { r: 255, g: 255, b: 255 };

export async function svgToPng(svg: string): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(Buffer.from(svg), { density: 72 }).flatten({ background: WHITE }).png().toBuffer();
}

/** An RGB canvas rendered from SVG, for images that get pixels painted in afterwards. */
export interface Canvas {
  width: number;
  height: number;
  /** RGB, row-major. */
  data: Buffer;
}

export async function svgToCanvas(svg: string): Promise<Canvas> {
  const sharp = await loadSharp();
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 })
    .flatten({ background: WHITE })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected an RGB canvas, got ${info.channels} channels`);
  return { width: info.width, height: info.height, data };
}

export async function canvasToPng(c: Canvas): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(c.data, { raw: { width: c.width, height: c.height, channels: 3 } })
    .png()
    .toBuffer();
}

let probe: Promise<boolean> | undefined;

/**
 * True when text drawn in an SVG comes out as real glyphs on this machine (checked once). With
 * no usable font, pango draws nothing or the same empty "tofu" box for every character, so
 * "1" and "8" rendering identically means the captions would be unreadable.
 */
export function textRenders(): Promise<boolean> {
  probe ??= (async () => {
    const draw = async (s: string) => (await svgToCanvas(svgDocument(40, 24, [text(4, 18, s, { size: 16 })]))).data;
    const [one, eight] = await Promise.all([draw('1'), draw('8')]);
    return !one.equals(eight);
  })();
  return probe;
}
