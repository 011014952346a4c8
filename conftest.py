"""Root pytest configuration, loaded before scipy or scikit-learn is imported.

scikit-learn 1.9's estimator checks include a NumPy array-API check that is
skipped unless ``SCIPY_ARRAY_API=1`` is set before scipy is imported; set it
here so the check runs instead of being skipped.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
