/** The front page as a document: the guide, the form, the builds, with this registry's address in every example. */

import type { JSXNode } from './jsx.ts';
import { CHECK_SCRIPT } from './check-script.ts';
import { BuildsSection, ComposeForm } from './compose-form.ts';
import type { ComposeInput, Composed } from './compose.ts';
import { Failures, Footer, Intro, Limits, Names, Revisions } from './guide.ts';
import { Layout } from './layout.ts';

/** The whole front page for `host`, its form filled with `input`. */
export function FrontPage({ host, input, composed }: { host: string; input: ComposeInput; composed: Composed }): JSXNode {
  return Layout({
    title: `nixedge · ${host}`,
    body: [
      ...Intro({ host }),
      ...ComposeForm({ host, input, composed }),
      ...Names({ host }),
      ...Revisions({ host }),
      ...Limits(),
      ...Failures(),
      ...BuildsSection(),
      Footer(),
    ],
    script: CHECK_SCRIPT,
  });
}
