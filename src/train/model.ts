// The network a run's configuration names, built fresh from its seed (the trainer, `tqhash eval` and `tqhash search`).
import { dshNet, resnet } from '../nn/models.js';
import type { Module } from '../nn/module.js';
import type { TrainConfig } from './options.js';

/** The network of `cfg`: the DSH CIFAR-10 net (with or without BN) or the small ResNet, initialised from cfg.seed. */
export function buildModel(cfg: Pick<TrainConfig, 'model' | 'bits' | 'bn' | 'seed'>): Module {
  return cfg.model === 'resnet' ? resnet({ bits: cfg.bits, seed: cfg.seed }) : dshNet({ bits: cfg.bits, batchNorm: cfg.bn, seed: cfg.seed });
}
