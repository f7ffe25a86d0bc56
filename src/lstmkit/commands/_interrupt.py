"""What an interrupted ``lstmkit train`` or ``lstmkit generate`` says (Ctrl-C): the epoch its
checkpoint holds and how to resume, or that nothing was saved. Shared by both commands."""

from __future__ import annotations

import os


def interrupted_note(checkpoint: str, epochs: int) -> str:
    """What an interrupted fit with ``--checkpoint`` leaves: the epoch the checkpoint holds, and how to resume."""
    from ..checkpoint import read_checkpoint

    if not os.path.exists(checkpoint):
        return f"no checkpoint written to {checkpoint} yet (one is written at the end of each epoch)"
    try:
        epoch = read_checkpoint(checkpoint)["meta"]["epoch"]
    except (ValueError, OSError) as exc:  # written whole (atomically), so not expected: say so rather than guess
        return f"the checkpoint {checkpoint} could not be read ({exc})"
    return (f"the checkpoint {checkpoint} holds epoch {epoch} of {epochs}; run the same command again (with --checkpoint "
            f"{checkpoint}) to resume from it, to the weights an uninterrupted run gives")


#: what an interrupted fit without --checkpoint says: nothing to resume from, and how to have it next time
NOTHING_SAVED = ("nothing saved; with --checkpoint PATH a checkpoint is written after every epoch, and the same command "
                 "run again resumes from it")  # fmt: skip
