// cpu: float64 reference kernels (plain loops, Float64Array in and out), used by kernel tests and as the CPU baseline in bench/.
// Conventions: activations NCHW row-major, conv weights [Cout, Cin, KH, KW], linear weights [out, in], matrices row-major.
export { gemm, gemmBackward, type GemmOptions, type Activation } from './gemm.js';
export { conv2d, conv2dBackwardData, conv2dBackwardWeights, conv2dOutShape, convOutSize, type Conv2dShape } from './conv.js';
export { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, pool2dOutShape, type Pool2dShape } from './pool.js';
export {
  relu, reluBackward, tanh, tanhBackward, scale, scaleBackward, add, addBackward, mul, mulBackward,
  sum, sumBackward, mean, meanBackward, sumAxis, sumAxisBackward, meanAxis, meanAxisBackward,
} from './elementwise.js';
export { batchNorm2dTrain, batchNorm2dUpdateRunning, batchNorm2dEval, batchNorm2dBackward, type BatchNorm2dShape } from './norm.js';
export { softmax, softmaxCrossEntropy, softmaxCrossEntropyBackward } from './loss.js';
export { sgdStep, adamStep, adamwStep, type SgdOptions, type AdamOptions } from './optim.js';
export { tqlLoss, signCodes, tqlDefaults, defaultMargin, type TqlOptions, type TqlResult, type TqlLossKind, type TqlForm, type TripletSelect } from './tql.js';
export { numericalGrad } from './grad.js';
export { philox4x32, mulhi32, philoxUniform, philoxNormal, PHILOX } from './philox.js';
export { wordsPerCode, checkCodes, signPack, unpack, popcount32, hammingDistance, hammingRow, hammingTopK, topKFromRow, rankRow, packedBytes, type TopK } from './codes.js';
