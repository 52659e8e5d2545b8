/** Recommendations -> an HTML fragment, through the slot's template or the bundled default. */
import type { RecommendationResponse } from '../schemas/recommendations';
import { safeUrl } from './escape';
import { priceFormat, type Display } from './locale';
import { reasonMessage } from './messages';
import { renderTemplate } from './template';

export const DEFAULT_TEMPLATE = `<section class="p13n-block" data-p13n-rec="{{recommendation_id}}" data-p13n-rendered="{{slot}}">
<ul class="p13n-items">{{#items}}
<li class="p13n-item" data-p13n-item-id="{{item_id}}" data-p13n-rank="{{rank}}"><a href="{{href}}">{{#image}}<img src="{{image}}" alt="{{title}}" loading="lazy" width="160" height="160">{{/image}}<span class="p13n-title">{{title}}</span>{{#price_label}}<span class="p13n-price">{{price_label}}</span>{{/price_label}}</a><small class="p13n-reason">{{reason}}</small></li>{{/items}}
</ul>
</section>`;

export function blockView(rec: RecommendationResponse, display: Display) {
  const price = priceFormat(display);
  return {
    ...rec,
    // Templates see only the checked `href` and `image`, never the raw catalog `url` / `image_url`.
    items: rec.items.map(({ url, image_url, ...it }) => ({
      ...it,
      href: safeUrl(url) || `/product/${encodeURIComponent(it.item_id)}`,
      image: safeUrl(image_url),
      price_label: it.price === null ? '' : price(it.price),
      // {{reason}} in the slot's language; the API's `reason` stays English.
      reason: reasonMessage(it.reason_code, it.reason_params, display.locale),
    })),
  };
}

export function renderBlock(rec: RecommendationResponse, template: string | null, display: Display): string {
  return renderTemplate(template ?? DEFAULT_TEMPLATE, blockView(rec, display));
}
