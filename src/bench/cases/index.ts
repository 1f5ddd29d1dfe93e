// The kernel benchmark's case lists, one per kernel family, in report order.
import type { Family } from './case.js';
import { convCases } from './conv.js';
import { poolCases } from './pool.js';
import { batchNormCases } from './batchnorm.js';
import { elementwiseCases } from './elementwise.js';
import { gemmCases } from './gemm.js';
import { tqlCases } from './tql.js';
import { codesCases } from './codes.js';
import { optimCases } from './optim.js';

export const FAMILIES: readonly Family[] = [convCases, poolCases, batchNormCases, elementwiseCases, gemmCases, tqlCases, codesCases, optimCases];
export type { BenchContext, CaseSpec, VariantSpec, Family } from './case.js';
