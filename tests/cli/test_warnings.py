"""How the command line shows warnings: one line each, and none that says nothing."""

import threading
import warnings

from featcls.cli._common import LOKY_WORKER_REPLACED, warnings_as_lines
from featcls.exceptions import FeatureWarning


def test_warnings_are_one_line_and_loky_s_worker_note_is_not_shown(capsys):
    def from_loky_s_manager_thread():
        warnings.warn(
            f"{LOKY_WORKER_REPLACED}. This can be caused by a too short worker "
            "timeout or by a memory leak.",
            UserWarning,
            stacklevel=1,
        )

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # as outside pytest, which makes them errors
        with warnings_as_lines():
            warnings.warn(
                "12 samples:\n  the mask is empty", FeatureWarning, stacklevel=1
            )
            warnings.warn("something else", UserWarning, stacklevel=1)
            thread = threading.Thread(target=from_loky_s_manager_thread)
            thread.start()
            thread.join()
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "featcls: warning: 12 samples: the mask is empty",
        "featcls: warning: something else (UserWarning)",
    ]
