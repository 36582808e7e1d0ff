// Pictures that are not digits, as people give them to a digit classifier: a scribble, the letter A
// and a dot, drawn in dark ink on a white 200x200 canvas (SVG strokes rasterised by sharp; no font).
import sharp from 'sharp';

const svg = (body: string) =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="white"/>${body}</svg>`,
  );
const pen = 'fill="none" stroke="black" stroke-width="12" stroke-linecap="round" stroke-linejoin="round"';

/** Name → SVG of the picture. */
export const NON_DIGITS: Record<string, Buffer> = {
  // A tangle of crossing strokes, as a child scribbles.
  scribble: svg(`<polyline ${pen} points="40,60 160,50 50,150 150,140 60,40 120,170 170,90 30,110 140,30 90,160"/>`),
  // Two slanted strokes and a crossbar.
  A: svg(`<polyline ${pen} points="45,170 100,30 155,170"/><line ${pen} x1="68" y1="115" x2="132" y2="115"/>`),
  // A single dab of the pen.
  dot: svg(`<circle cx="100" cy="100" r="10" fill="black"/>`),
};

/** The picture as PNG bytes. */
export const nonDigitPng = (name: string) => sharp(NON_DIGITS[name]).png().toBuffer();
