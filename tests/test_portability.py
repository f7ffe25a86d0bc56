"""Windows and macOS behaviour, simulated on Linux (helper-171's portability review): a removed ``os``
attribute, a monkeypatched ``sys.platform`` or ``os`` call standing for the other platform's rule."""

import json
import os
import subprocess
import sys
import textwrap


def test_import_and_forward_without_register_at_fork(tmp_path):
    # Windows' os has no register_at_fork (Unix only): the import failed with AttributeError at
    # workspace.py, and packed_gemm's failure would have turned the compiled path off silently
    body = """
        import json, os
        del os.register_at_fork, os.fork  # as on Windows (random.py then skips its own hook)
        import numpy as np
        import lstmkit, lstmkit.kernels_numba as kn
        x = np.random.default_rng(0).standard_normal((4, 2, 2)).astype(np.float32)
        ys = {}
        for backend in ("numpy", "numba"):
            lstm = lstmkit.LSTM(2, 3, seed=0)
            lstm.backend = backend
            ys[backend] = lstm(x)[0].tolist()
        print(json.dumps({"available": kn.AVAILABLE, "broken": kn.BROKEN, "ys": ys}))
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # this process has the attribute: the compiled path is as available there as here
    import lstmkit.kernels_numba as kn

    assert (got["available"], got["broken"]) == (kn.AVAILABLE, kn.BROKEN)
    import numpy as np

    np.testing.assert_allclose(got["ys"]["numba"], got["ys"]["numpy"], rtol=1e-5, atol=1e-6)
    assert os.path.exists  # the test process's os is untouched (the deletion was in the child)
