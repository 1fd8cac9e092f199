"""Feed each exercise checker answers that it must accept and answers that it must reject (run in a lesson's
namespace by tests/test_checkers.py; the cases come from tests/per_lesson/lesson_NN.py).

A case is (checker name, answer source, expected): the source defines `answer` (a function, usually); the checker
is called as checker(answer). expected True: the checker must return True. expected a string: the checker must
return False and print that string (the hint that names the mistake).
"""

import contextlib
import io
import traceback


def probe_checkers(cases, namespace):
    failures = []
    for checker, answer_src, expected in cases:
        ns = dict(namespace)
        said = io.StringIO()
        try:
            exec(answer_src, ns)  # noqa: S102 - the answer is the test's own code
            with contextlib.redirect_stdout(said):
                verdict = ns[checker](ns["answer"])
        except Exception:  # noqa: BLE001 - a checker must never raise: it reports
            failures.append(f"{checker} raised on\n{answer_src}\n{traceback.format_exc(limit=3)}")
            continue
        what = f"{checker} on\n{answer_src}\nsaid: {said.getvalue().strip()!r}"
        if expected is True and verdict is not True:
            failures.append(f"rejected a correct answer: {what}")
        elif expected is not True and verdict is not False:
            failures.append(f"accepted a wrong answer (returned {verdict!r}): {what}")
        elif expected is not True and expected not in said.getvalue():
            failures.append(f"did not name the mistake (expected the hint {expected!r}): {what}")
    assert not failures, f"{len(failures)} of {len(cases)} checker cases failed:\n\n" + "\n\n".join(failures)
    return len(cases)
