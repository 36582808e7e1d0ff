// A digitkit model as the smallest ONNX graph onnxruntime runs: MatMul + Add (+ Relu) per layer, then
// Softmax, float32 weights (int8 ones dequantized: q * scale, rounded to float32 as onnxruntime
// computes in float32). Input "x": [N, rows] already scaled (x = pixel * input.scale); output "probs".
// The protobuf is written by hand: only varints and length-delimited fields are needed.
// (Not a benchmark: bench.mjs runs *.bench.mjs.)

const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 127n);
    v >>= 7n;
    if (v) b |= 128;
    out.push(b);
  } while (v);
  return out;
};
const bytes = (field, data) => [...varint((field << 3) | 2), ...varint(data.length), ...data];
const int = (field, n) => [...varint(field << 3), ...varint(n)];
const str = (field, s) => bytes(field, [...Buffer.from(s, 'utf8')]);

const FLOAT = 1;

function tensor(name, dims, values) {
  const raw = Buffer.from(Float32Array.from(values).buffer);
  return [...dims.flatMap((d) => int(1, d)), ...int(2, FLOAT), ...str(8, name), ...bytes(9, [...raw])];
}

function valueInfo(name, dims) {
  const shape = dims.flatMap((d) => bytes(1, typeof d == 'string' ? str(2, d) : int(1, d)));
  return [...str(1, name), ...bytes(2, bytes(1, [...int(1, FLOAT), ...bytes(2, shape)]))];
}

const node = (op, inputs, outputs) => [
  ...inputs.flatMap((i) => str(1, i)),
  ...outputs.flatMap((o) => str(2, o)),
  ...str(3, `${op}_${outputs[0]}`),
  ...str(4, op),
];

/** ONNX bytes (opset 13) for a parsed digitkit model (the core's parseRawModel result). */
export function onnxFromRaw(raw) {
  const nodes = [];
  const inits = [];
  let x = 'x';
  raw.layers.forEach((l, k) => {
    const sc = (j) => (l.scale === undefined ? 1 : typeof l.scale == 'number' ? l.scale : l.scale[j]);
    const w = Array.from(l.q, (q, i) => q * sc(i % l.cols));
    inits.push(tensor(`w${k}`, [l.rows, l.cols], w), tensor(`b${k}`, [l.cols], l.b));
    nodes.push(node('MatMul', [x, `w${k}`], [`m${k}`]), node('Add', [`m${k}`, `b${k}`], [`z${k}`]));
    x = `z${k}`;
    if (k < raw.layers.length - 1) {
      nodes.push(node('Relu', [x], [`h${k}`]));
      x = `h${k}`;
    }
  });
  nodes.push(node('Softmax', [x], ['probs']));
  const graph = [
    ...nodes.flatMap((n) => bytes(1, n)),
    ...str(2, 'digitkit'),
    ...inits.flatMap((t) => bytes(5, t)),
    ...bytes(11, valueInfo('x', ['N', raw.layers[0].rows])),
    ...bytes(12, valueInfo('probs', ['N', raw.labels.length])),
  ];
  const model = [...int(1, 8), ...str(2, 'digitkit-bench'), ...bytes(7, graph), ...bytes(8, int(2, 13))];
  return Uint8Array.from(model);
}
