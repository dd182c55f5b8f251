from . import (
    test_birthday,
    test_dispatch,
    test_planning,
    test_security,
    test_template,
)
