"""Language-model building blocks for the OPT experiment of Shumailov et al. (Nature 631, 2024).

``model``: the OPT decoder (Zhang et al. 2022) in Flax with a KV cache; ``checkpoint``: load/save
Hugging Face-layout directories and tokenizers from local disk; ``generate``: greedy, beam search
and sampling under ``jit``. Needs the ``lm`` extra (flax, optax, safetensors, tokenizers).
"""

from simcollapse.lm.checkpoint import (
    CheckpointError,
    Pretrained,
    Tokenizer,
    load_pretrained,
    load_tokenizer,
    save_pretrained,
)
from simcollapse.lm.generate import GenerateOutput, GenerationConfig, generate, left_pad
from simcollapse.lm.model import OPTConfig, OPTForCausalLM, OPTOutput, init_cache, init_params, param_count

__all__ = [
    "CheckpointError",
    "GenerateOutput",
    "GenerationConfig",
    "OPTConfig",
    "OPTForCausalLM",
    "OPTOutput",
    "Pretrained",
    "Tokenizer",
    "generate",
    "init_cache",
    "init_params",
    "left_pad",
    "load_pretrained",
    "load_tokenizer",
    "param_count",
    "save_pretrained",
]
