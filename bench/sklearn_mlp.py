"""The scikit-learn yardstick for `npm run bench -- datasets`: an MLPClassifier with digitkit's hidden
sizes and a fixed seed, on the very train/test CSV files digitkit trains and is measured on (features
standardised from the training rows, as digitkit does). Prints one JSON line. Run with Debian's python3
(python3-sklearn); not part of digitkit itself."""
import csv
import json
import sys
import warnings

from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    at = head.index("label")
    x = [[float(v) for i, v in enumerate(r) if i != at] for r in body]
    y = [r[at] for r in body]
    return x, y


def main():
    train, test, hidden, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    xtr, ytr = read(train)
    xte, yte = read(test)
    scaler = StandardScaler().fit(xtr)
    sizes = tuple(int(h) for h in hidden.split(","))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: the accuracy is what counts
        clf = MLPClassifier(hidden_layer_sizes=sizes, random_state=seed, max_iter=1000)
        clf.fit(scaler.transform(xtr), ytr)
    acc = clf.score(scaler.transform(xte), yte)
    import sklearn

    print(json.dumps({"accuracy": acc, "n_iter": clf.n_iter_, "sklearn": sklearn.__version__}))


main()
