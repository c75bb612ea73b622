"""In a notebook without ipywidgets the progress bar is tqdm's text bar, without tqdm's IProgress warning."""

import subprocess
import sys

NOTEBOOK_WITHOUT_IPYWIDGETS = """
import sys, types, warnings
class ZMQInteractiveShell:  # what tqdm.auto looks for: the shell of a Jupyter kernel
    config = {"IPKernelApp": {}}
kernel = types.ModuleType("IPython")
kernel.get_ipython = ZMQInteractiveShell
sys.modules["IPython"] = kernel
sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")
sys.modules["ipywidgets"] = None  # not installed
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from simcollapse.api import make_config, simulate
    simulate(make_config("gaussian", n_samples=4, generations=2, chains=2), progress=True)
    from simcollapse.progress import tqdm
    bar = tqdm(total=1)
    bar.close()
print(type(bar).__module__, [str(w.message)[:60] for w in caught if "IProgress" in str(w.message)])
"""


def test_no_ipywidgets_warning_in_a_notebook():
    done = subprocess.run([sys.executable, "-c", NOTEBOOK_WITHOUT_IPYWIDGETS], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "tqdm.std []", done.stdout
    assert "IProgress" not in done.stderr
