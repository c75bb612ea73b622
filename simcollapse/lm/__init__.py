"""Language-model building blocks for the OPT experiment of Shumailov et al. (Nature 631, 2024).

``model``: the OPT decoder (Zhang et al. 2022) in Flax with a KV cache; ``checkpoint``: load/save
Hugging Face-layout directories and tokenizers from local disk; ``generate``: greedy, beam search
and sampling under ``jit``. Needs the ``lm`` extra (flax, optax, safetensors, tokenizers).

The names below are imported on first use, so that ``simcollapse.lm.loop``'s config can be read and
validated on an install without flax.
"""

import importlib

_SOURCES = {
    "checkpoint": ("CheckpointError", "Pretrained", "load_pretrained", "save_pretrained"),
    "tokenizer": ("Tokenizer", "load_tokenizer"),
    "generate": ("GenerateOutput", "GenerationConfig", "generate", "left_pad"),
    "model": ("OPTConfig", "OPTForCausalLM", "OPTOutput", "init_cache", "init_params", "param_count"),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
