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
#     resolved = [ ...components found so far ]; wanted; candidates = [ names ]; }
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

  walk = set: components: resolved:
    let
      wanted = head components;
      step = findName set wanted;
      value = tryEval set.${step.name};
      here = resolved ++ [ step.name ];
    in
    if !step.ok then failure resolved wanted step
    else if !value.success then failure resolved wanted { reason = "evaluation-error"; }
    else if length components == 1 then
      (if isDerivation value.value then describe here value.value
       else failure resolved wanted { reason = "not-a-package"; })
    else if isAttrs value.value && !(isDerivation value.value) then walk value.value (tail components) here
    else failure here (elemAt components 1) { reason = "unknown"; };
in
map (components: walk pkgs components [ ]) req.packages
