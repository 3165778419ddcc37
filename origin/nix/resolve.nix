# Resolves requested attribute paths in a package set, case-insensitively at every level.
#
# Called as `nix-instantiate --eval --strict --json resolve.nix --argstr request <json>`; the
# request arrives as data only (never spliced into Nix source):
#   { source = { kind = "path"; path = "/abs"; }            # NIXERY_PKGS_PATH, or NIXERY_PKGS_REPO's
#                                                         # commit, fetched into the store first
#           | { kind = "tarball"; url = "https://..."; };    # NIXERY_CHANNEL
#     system = "x86_64-linux";
#     packages = [ [ "python3packages" "numpy" ] ... ]; }
# It returns one result per requested path, in order:
#   { ok = true; attrPath; name; drvPath; outputs = [ { name; path; } ]; }
#   { ok = false; reason = "unknown" | "ambiguous" | "not-a-package" | "evaluation-error";
#     resolved = [ ...components found so far ]; wanted; candidates = [ names ];
#     attrPath = [ ...the exact attribute path ] (evaluation errors only); }
# A package whose evaluation throws (nixpkgs' checks of broken, unfree or insecure packages, a
# removed alias) is an "evaluation-error" here, as tryEval sees it, without the message.
# With `diagnose = [ "exact" "attribute" "path" ]` in the request instead of `packages`, it
# evaluates that one package without tryEval, so nix prints the package set's own error.
{ request }:
let
  req = builtins.fromJSON request;
  inherit (builtins) attrNames filter hasAttr head tail length tryEval isAttrs elemAt;

  source =
    if req.source.kind == "path" then /. + req.source.path
    else if req.source.kind == "tarball" then builtins.fetchTarball req.source.url
    else throw "unknown source kind ${req.source.kind}";

  pkgs = import source { inherit (req) system; config = { }; overlays = [ ]; };

  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  toLower = builtins.replaceStrings upper lower;

  isDerivation = value: isAttrs value && (value.type or null) == "derivation";

  # One level: the exact name first, then the single case-insensitive match.
  findName = set: wanted:
    if hasAttr wanted set then { ok = true; name = wanted; }
    else
      let matches = filter (n: toLower n == wanted) (attrNames set);
      in
      if matches == [ ] then { ok = false; reason = "unknown"; candidates = attrNames set; }
      else if length matches > 1 then { ok = false; reason = "ambiguous"; candidates = matches; }
      else { ok = true; name = head matches; };

  failure = resolved: wanted: step: {
    ok = false;
    inherit resolved wanted;
    inherit (step) reason;
    candidates = step.candidates or [ ];
  };

  describe = attrPath: drv:
    let
      outputNames = drv.meta.outputsToInstall or [ (drv.outputName or "out") ];
    in {
      ok = true;
      inherit attrPath;
      name = drv.name;
      drvPath = drv.drvPath;
      outputs = map (o: { name = o; path = drv.${o}.outPath; }) outputNames;
    };

  # Everything a package's description needs, forced: its derivation and its outputs' paths.
  forced = drv:
    let outputNames = drv.meta.outputsToInstall or [ (drv.outputName or "out") ];
    in builtins.deepSeq [ drv.drvPath (map (o: drv.${o}.outPath) outputNames) ] true;

  walk = set: components: resolved:
    let
      wanted = head components;
      step = findName set wanted;
      value = tryEval set.${step.name};
      here = resolved ++ [ step.name ];
      evaluationError = (failure resolved wanted { reason = "evaluation-error"; }) // { attrPath = here; };
    in
    if !step.ok then failure resolved wanted step
    else if !value.success then evaluationError
    else if length components == 1 then
      (if !(isDerivation value.value) then failure resolved wanted { reason = "not-a-package"; }
       else if !(tryEval (forced value.value)).success then evaluationError
       else describe here value.value)
    else if isAttrs value.value && !(isDerivation value.value) then walk value.value (tail components) here
    else failure here (elemAt components 1) { reason = "unknown"; };
  # The exact attribute path, without tryEval: nix reports the package set's own error.
  diagnose = attrPath: forced (builtins.foldl' (set: name: set.${name}) pkgs attrPath);
in
if req ? diagnose then diagnose req.diagnose
else map (components: walk pkgs components [ ]) req.packages
