// The one DOM helper of the pages' scripts. Touches `document` only when called, so Node can import
// modules that use it.

// el('div', {class, dataset, onclick, style, ...attributes}, ...children) -> a new element.
// false / null / undefined attributes and children are left out; `true` sets an empty attribute.
// `style` goes through the CSSOM (node.style.cssText): the Content-Security-Policy blocks style
// attributes set with setAttribute, not this.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else if (k === 'style') node.style.cssText = v;
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);
