"""``TextGenerator``: seed 003's character-level LSTM that writes text (after Karpathy's char-rnn).

    vocabulary   V characters seen at fit (sorted) plus index 0 = "unknown" for characters never seen
    x_t          one-hot of character t                                      (V,)
    h_t, c_t     the LSTM (lstmkit.LSTM), num_layers deep
    z_t          W h_t + b,  p(char_{t+1} | char_{<=t}) = softmax(z_t)       (V,)
    loss         mean over positions of -log p(char_{t+1})   (softmax cross-entropy)

Training uses **truncated back-propagation through time**: the text is cut into ``batch_size``
parallel streams; each update reads the next ``seq_len`` characters of every stream, starting from
the state the previous chunk ended in (carried forward, but not back-propagated through).

Sampling: with temperature τ and top-k,

    p_k ∝ exp(z_k / τ)  for the k largest z (others 0); "unknown" is never sampled.

``perplexity(text) = exp(mean_t -log p(char_{t+1}))`` on held-out text (state carried across the
whole text); a uniform guess over V characters scores V.
"""

from __future__ import annotations

import os

import numpy as np

from ._checks import check_int, check_rng, fail

KIND = "TextGenerator"
UNKNOWN = "\x00"  # vocabulary entry 0: any character not seen at fit


class NotFittedError(ValueError, AttributeError):
    """Raised when a generator is used before ``fit``."""


def _as_text(text, where: str) -> str:
    """A str, or the UTF-8 content of a path (``os.PathLike``)."""
    if isinstance(text, os.PathLike):
        from .tables import read_text

        return read_text(text)
    if not isinstance(text, str):
        fail(where, "text", "a str or a path (pathlib.Path)", type(text).__name__, exc=TypeError)
    return text


class TextGenerator:
    """Character-level LSTM language model. Parameters:

    hidden_size, num_layers, dropout : the LSTM's
    seq_len : int           characters per truncated-BPTT chunk
    batch_size : int        parallel text streams per update
    epochs : int            passes over the text
    max_updates : int|None  stop after this many updates (None: run all epochs)
    optimizer, learning_rate, clip : the update rule (global-norm clipping, None for none)
    seed : int|None         initialisation and nothing else (training order is fixed by the text)

    Learned: ``vocab_`` (str, index 0 is "unknown"), ``model_`` (SequenceModel), ``history_``
    (list of {"update", "loss"} every ``log_every`` updates).
    """

    def __init__(
        self,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        seq_len: int = 50,
        batch_size: int = 32,
        epochs: int = 1,
        max_updates: int | None = None,
        optimizer: str = "adam",
        learning_rate: float = 0.005,
        clip: float | None = 5.0,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_updates = max_updates
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.clip = clip
        self.seed = seed
        self.verbose = verbose

    _param_names = (
        "hidden_size", "num_layers", "dropout", "seq_len", "batch_size", "epochs", "max_updates", "optimizer",
        "learning_rate", "clip", "seed", "verbose",
    )  # fmt: skip

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._param_names}

    def set_params(self, **params) -> "TextGenerator":
        for k, v in params.items():
            if k not in self._param_names:
                fail(KIND, "parameter", f"one of {list(self._param_names)}", repr(k))
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = TextGenerator().get_params()
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"TextGenerator({changed})"

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"TextGenerator.{what}: expected a fitted generator, got one that is not fitted. Call fit(text) first.")

    # -- vocabulary ------------------------------------------------------------------------
    def encode(self, text: str) -> np.ndarray:
        """Characters -> indices (n,) int64; characters unseen at fit map to 0 ("unknown")."""
        self._check_fitted("encode")
        return np.array([self._index.get(ch, 0) for ch in text], dtype=np.int64)

    def decode(self, ids) -> str:
        """Indices -> characters (0 decodes to U+FFFD)."""
        self._check_fitted("decode")
        return "".join("\ufffd" if i == 0 else self.vocab_[i] for i in np.asarray(ids).ravel())

    def _onehot(self, ids: np.ndarray) -> np.ndarray:
        """(..., ) ints -> (..., V) one-hot float32."""
        return np.eye(len(self.vocab_), dtype=np.float32)[ids]

    # -- fit -------------------------------------------------------------------------------
    def fit(self, text, y=None) -> "TextGenerator":
        """Learn to predict each next character of ``text`` (a str or a path). Returns self."""
        from .losses import softmax_cross_entropy
        from .models import SequenceModel
        from .optim import clip_grad_norm, make_optimizer

        where = f"{KIND}.fit"
        text = _as_text(text, where)
        L = check_int(self.seq_len, KIND, "seq_len", minimum=1)
        B = check_int(self.batch_size, KIND, "batch_size", minimum=1)
        epochs = check_int(self.epochs, KIND, "epochs", minimum=1)
        if len(text) < B * L + 1:
            fail(where, "text", f"at least batch_size*seq_len+1 = {B * L + 1} characters", len(text), "Use a smaller batch_size or seq_len.")
        self.vocab_ = UNKNOWN + "".join(sorted(set(text) - {UNKNOWN}))
        self._index = {ch: i for i, ch in enumerate(self.vocab_)}
        V = len(self.vocab_)
        ids = self.encode(text)
        # B parallel streams of equal length: stream b is ids[b*n : (b+1)*n + 1]
        n = (len(ids) - 1) // B
        inputs = ids[: B * n].reshape(B, n)  # (B, n)
        targets = ids[1 : B * n + 1].reshape(B, n)  # (B, n) the next character
        self.model_ = SequenceModel(
            V, V, self.hidden_size, num_layers=self.num_layers, dropout=self.dropout, head="all", dtype=np.float32, seed=self.seed
        )
        opt = make_optimizer(self.optimizer, self.model_, lr=self.learning_rate)
        self.history_ = []
        update, running = 0, None
        for _ in range(epochs):
            state = None  # each epoch starts the streams from zero state
            self.model_.train()
            for start in range(0, n, L):
                x = self._onehot(inputs[:, start : start + L])  # (B, L', V)
                opt.zero_grad()
                logits, state = self.model_(x, state=state)  # (B, L', V)
                loss, dlogits = softmax_cross_entropy(logits, targets[:, start : start + L])
                self.model_.backward(dlogits)  # the carried state is not back-propagated into
                if self.clip:
                    clip_grad_norm(self.model_, self.clip)
                opt.step()
                update += 1
                running = loss if running is None else 0.95 * running + 0.05 * loss
                if update % 20 == 0 or start + L >= n:
                    self.history_.append({"update": update, "loss": float(running)})
                    if self.verbose:
                        print(f"update {update}: loss {running:.3f}")
                if self.max_updates and update >= self.max_updates:
                    break
            if self.max_updates and update >= self.max_updates:
                break
        self.n_updates_ = update
        self.model_.eval()
        return self

    # -- use -------------------------------------------------------------------------------
    def _step_logits(self, ids: np.ndarray, state):
        """Run the model over ``ids`` (n,) from ``state``: logits (n, V), new state."""
        with self.model_.no_grad():
            logits, state = self.model_(self._onehot(ids)[None], state=state)  # (1, n, V)
        return logits[0].astype(np.float64), state

    def perplexity(self, text) -> float:
        """exp(mean -log p(next char)) over ``text`` (str or path), state carried from its start."""
        self._check_fitted("perplexity")
        text = _as_text(text, f"{KIND}.perplexity")
        if len(text) < 2:
            fail(f"{KIND}.perplexity", "text", "at least 2 characters", len(text))
        from .functional import log_softmax

        ids = self.encode(text)
        state, nll, chunk = None, 0.0, 1000
        for s in range(0, len(ids) - 1, chunk):
            inp = ids[s : min(s + chunk, len(ids) - 1)]
            tgt = ids[s + 1 : s + 1 + len(inp)]
            logits, state = self._step_logits(inp, state)
            nll -= float(log_softmax(logits, axis=-1)[np.arange(len(tgt)), tgt].sum())
        return float(np.exp(nll / (len(ids) - 1)))

    def generate(self, prime: str = "\n", length: int = 200, temperature: float = 1.0, top_k: int | None = None, seed=None) -> str:
        """``prime`` followed by ``length`` sampled characters (see the module docstring)."""
        self._check_fitted("generate")
        where = f"{KIND}.generate"
        length = check_int(length, where, "length", minimum=0)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            fail(where, "temperature", "a number > 0", repr(temperature))
        if top_k is not None:
            top_k = check_int(top_k, where, "top_k", minimum=1)
        if not isinstance(prime, str) or not prime:
            fail(where, "prime", "a non-empty str", repr(prime), "Use for example prime='\\n'.")
        rng = check_rng(seed)
        logits, state = self._step_logits(self.encode(prime), None)
        z = logits[-1]
        out = []
        for _ in range(length):
            z = z / temperature
            z[0] = -np.inf  # never sample "unknown"
            if top_k is not None and top_k < len(z) - 1:
                z[z < np.sort(z)[-top_k]] = -np.inf
            p = np.exp(z - z.max())
            p /= p.sum()
            nxt = int(rng.choice(len(p), p=p))
            out.append(self.vocab_[nxt])
            logits, state = self._step_logits(np.array([nxt]), state)
            z = logits[-1]
        return prime + "".join(out)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the model file (lstmkit.modelfile; no pickle), atomically."""
        from .modelfile import save_model

        self._check_fitted("save")
        extra = {"vocab": [ord(c) for c in self.vocab_], "n_updates": self.n_updates_}
        save_model(path, KIND, {"params": self.get_params(), "model": self.model_.config()}, self.model_.state_dict(), extra)

    @classmethod
    def load(cls, path) -> "TextGenerator":
        """Read a file written by :meth:`save` (refuses other kinds of model files)."""
        from .io import FileFormatError
        from .modelfile import read_model
        from .models import SequenceModel

        mf = read_model(path, KIND)
        try:
            gen = cls(**mf.config["params"])
            cfg = dict(mf.config["model"])
            gen.vocab_ = "".join(chr(int(c)) for c in mf.extra["vocab"])
            model = SequenceModel(**cfg)
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"{path}: expected a TextGenerator configuration, got an invalid one ({exc}).") from None
        if model.input_size != len(gen.vocab_):
            raise FileFormatError(f"{path}: expected a vocabulary of {model.input_size} characters, got {len(gen.vocab_)}.")
        model.load_state_dict(mf.arrays)
        model.eval()
        gen.model_, gen.n_updates_ = model, int(mf.extra.get("n_updates", 0))
        gen._index = {ch: i for i, ch in enumerate(gen.vocab_)}
        return gen
