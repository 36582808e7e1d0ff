/**
 * The contract between training's TypeScript side and its AssemblyScript kernels (wasm/): where the
 * kernels find things in the shared memory (descriptor, layer table and control-block slots) and the
 * constants both sides compute with. Plain `export const` numbers only, so that tsc and asc compile
 * this one file (wasm/train.ts and wasm/kernels.ts import it as '../wasm-abi'): nothing is copied.
 * scripts/build.mjs rebuilds the kernels when it changes.
 */

// ---- the descriptor: i32 slots at plan.desc (memory-plan.ts writes it, wasm/train.ts setup() reads it)
export const D_LAYERS = 0;
export const D_MAXBATCH = 1;
export const D_PARAMS = 3;
export const D_M = 4;
export const D_V = 5;
export const D_LAYER_TABLE = 6;
export const D_SPIDX = 7;
export const D_SPVAL = 8;
export const D_NNZ = 9;
export const D_ROWSTART = 10;
export const D_LOSS = 11;
export const D_CORRECT = 12;
export const D_ORDER = 13;
export const D_AUG = 14;
export const D_TRAIN_IMG = 15;
export const D_TRAIN_LBL = 16;
export const D_TRAIN_BOX = 17;
export const D_TEST_IMG = 18;
export const D_TEST_LBL = 19;
export const D_TEST_BOX = 20;
export const D_CTRL = 21;
export const D_SCRATCH = 22;
export const D_SCRATCH_SIZE = 23;
export const D_MAXWIDTH = 24;
/** What a sample is (IN_* below), its size in values and in bytes, an image's geometry. */
export const D_INPUT_KIND = 25;
export const D_INPUT_SIZE = 26;
export const D_SAMPLE_BYTES = 27;
export const D_WIDTH = 28;
export const D_HEIGHT = 29;
export const D_CHANNELS = 30;
/** First-layer rows per phase-B work item (one image row, or a block of features); rowStart has one entry per block + 1. */
export const D_BLOCK0 = 31;
export const D_ROW_STARTS = 32;
/** float64 per sample in the batch's augmentation array (AUG_STRIDE for images, the feature count for vectors). */
export const D_AUG_STRIDE = 33;
/** Quantization-aware training: 0 none, QAT_STEP (scales recomputed every step) or QAT_FROZEN. */
export const D_QAT = 34;
export const QAT_STEP = 1;
export const QAT_FROZEN = 2;
/** Distillation: the teacher's layer count (0: none) and its layer table's byte offset. */
export const D_T_LAYERS = 35;
export const D_T_TABLE = 36;
/** Byte offset of the label smoothing (one f64) inside the descriptor. */
export const D_SMOOTHING_BYTE = 200;
/** Distillation's 1 / temperature and alpha (the soft term's weight), f64 each. */
export const D_INV_T_BYTE = 208;
export const D_ALPHA_BYTE = 216;
export const DESC_BYTES = 256;

// ---- the layer table: LAYER_SLOTS i32 per layer (byte offsets, or sizes)
export const LAYER_SLOTS = 12;
export const L_ROWS = 0;
export const L_COLS = 1;
/** W and b: offsets in floats inside the parameters. */
export const L_W = 2;
export const L_B = 3;
/** Wᵀ (0 for the first layer), the batch's activations and deltas: byte offsets. */
export const L_WT = 4;
export const L_ACTS = 5;
export const L_DELTAS = 6;
/** Byte offset of the weights the forward pass reads: W itself, or its fake-quantized copy under QAT. */
export const L_WF = 7;
/** QAT: the layer's width (0 float, 4 or 8), the byte offset of its scales (f32), and 1 for one scale per column. */
export const L_BITS = 8;
export const L_SCALES = 9;
export const L_PER_CHANNEL = 10;
/** The teacher's layer table has the same stride; its W and b are byte offsets (slots L_W, L_B). */

// ---- the control block: i32 slots at plan.ctrl (sync.ts); the contended ones sit 64 bytes apart
export const C_FROM = 0;
export const C_N = 1;
/** 0: training images, 1: test images (evaluation). */
export const C_SET = 2;
/** f32: lr / (1 - β1^t) and 1 / (1 - β2^t) for this step. */
export const C_LRC1 = 3;
export const C_INVC2 = 4;
export const C_CMD = 5;
export const C_SEQ = 16;
export const C_ARRIVED = 32;
export const C_GEN = 48;
/** Work queues (next item to take) of phase A / evaluation and of phase B. */
export const C_QA = 64;
export const C_QB = 80;
export const C_CORRECT = 96;
export const C_FAILED = 112;
export const CTRL_BYTES = 512;

// ---- inputs
/**
 * The kinds of sample the kernels read. IN_DIGIT28: a 28x28 one-channel uint8 image (MNIST's shape),
 * through the SIMD fast path of `extract`; IN_IMAGE: a uint8 image of any width x height x channels
 * (channels interleaved), through the general path; IN_VECTOR: float32 features, standardised already.
 */
export const IN_DIGIT28 = 0;
export const IN_IMAGE = 1;
export const IN_VECTOR = 2;
/** MNIST's geometry, the one IN_DIGIT28 handles. */
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
/** An image's nonzero bounding box: minX, maxX, minY, maxY, one byte each (IN_DIGIT28 only). */
export const BOX_BYTES = 4;
/** One image's augmentation transform [dx, dy, a, b, flip]: this many f64. */
export const AUG_STRIDE = 5;
/** Features per phase-B work item of a vector model's first layer. */
export const VECTOR_BLOCK = 32;
/** Augmentation's source points are 16.16 fixed point. */
export const FIXED_ONE = 65536;

// ---- Adam (the kernels use these as f32)
export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPS = 1e-8;
/**
 * Moments below this are set to 0. Without it the moments of weights that never see a nonzero input
 * (MNIST's border pixels) decay into subnormal floats within two epochs, and subnormal arithmetic is
 * ~100x slower on x86; wasm cannot switch on flush-to-zero, so Adam does it (exactly, every thread alike).
 */
export const ADAM_TINY = 1e-30;
