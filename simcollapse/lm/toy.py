"""A toy world for the language-model loop without any download: a corpus from a small grammar, a byte-level BPE
tokenizer trained on it, and a randomly initialised tiny OPT (2 layers, width 32), written in the same layout as
a real checkpoint directory and a WikiText-2 directory.

It shows the paper's mechanism in seconds on a CPU: a model fine-tuned on its predecessor's beam-search output
gets worse on the real test text generation after generation (Shumailov et al. 2024, Fig. 1). Its numbers say
nothing about OPT-125m's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SUBJECTS = ("the cat", "a dog", "the old man", "my sister", "the river", "a small bird", "the king", "our teacher")
VERBS = ("sees", "likes", "follows", "paints", "finds", "remembers", "carries", "watches")
OBJECTS = ("the house", "a red ball", "the green hill", "many stars", "the long road", "a quiet town", "the sea")
ENDS = (".", " today.", " at night.", " again.", " in spring.")
SPLIT_LINES = {"wiki.train.raw": 240, "wiki.valid.raw": 40, "wiki.test.raw": 40}
VOCAB_SIZE = 320
MAX_POSITIONS = 40
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]


def corpus(n_lines: int, seed: int) -> str:
    """WikiText-shaped text: a ``= Section k =`` heading and a blank line every 7th line, else one or two
    sentences "subject verb object ending" drawn uniformly from the word lists."""
    rs = np.random.RandomState(seed)
    pick = lambda words: words[rs.randint(len(words))]
    lines = []
    for i in range(n_lines):
        if i % 7 == 0:
            lines += [f" = Section {i // 7} = \n", "\n"]
            continue
        sentences = [f"{pick(SUBJECTS)} {pick(VERBS)} {pick(OBJECTS)}{pick(ENDS)}" for _ in range(rs.randint(1, 3))]
        lines.append(" " + " ".join(sentences).capitalize() + " \n")
    return "".join(lines)


def write_corpus(data_dir: Path, seed: int = 0) -> Path:
    """The three splits as ``wiki.{train,valid,test}.raw`` in `data_dir` (seeds seed, seed+1, seed+2)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for offset, (name, n_lines) in enumerate(SPLIT_LINES.items()):
        (data_dir / name).write_text(corpus(n_lines, seed + offset), encoding="utf-8")
    return data_dir


def write_model(model_dir: Path, data_dir: Path, seed: int = 0) -> Path:
    """A tokenizer trained on the training split and a random tiny OPT, saved as a checkpoint directory."""
    import jax
    from tokenizers import ByteLevelBPETokenizer

    from .checkpoint import save_pretrained
    from .model import OPTConfig, init_params
    from .tokenizer import load_tokenizer

    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    lines = (data_dir / "wiki.train.raw").read_text(encoding="utf-8").split("\n")
    bpe.train_from_iterator(lines, vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                            show_progress=False)
    tokenizer_dir = model_dir / "tokenizer"
    tokenizer_dir.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(tokenizer_dir))
    config = OPTConfig.tiny(vocab_size=VOCAB_SIZE, max_position_embeddings=MAX_POSITIONS, dropout=0.0)
    save_pretrained(model_dir, config, init_params(config, jax.random.PRNGKey(seed)), load_tokenizer(tokenizer_dir))
    return model_dir


def build(root, seed: int = 0) -> tuple[Path, Path]:
    """Write the toy corpus to ``root/data`` and the toy model to ``root/model``; returns (model_dir, data_dir).
    An existing complete toy world in `root` is reused."""
    root = Path(root)
    model_dir, data_dir = root / "model", root / "data"
    if not all((data_dir / name).is_file() for name in SPLIT_LINES):
        write_corpus(data_dir, seed)
    if not (model_dir / "model.safetensors").is_file():
        write_model(model_dir, data_dir, seed)
    return model_dir, data_dir
